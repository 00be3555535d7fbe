"""SMS gateways behind one interface: one folder per gateway (twilio, cmpp, aliyun)."""
