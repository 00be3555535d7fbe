"""Aliyun SMS (Dysmsapi 2017-05-25): approved templates under a registered signature, through the
official SDK; receipts and replies are pushed to our webhooks (see adapter.py, pushes.py)."""
