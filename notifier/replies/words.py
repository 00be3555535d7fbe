"""The words deputies text back, in ONE place. Read through `reply_words()`: the app config key
REPLY_WORDS (a dict like DEFAULT_WORDS, e.g. from a deployment's settings) replaces the defaults
kind by kind. Words are compared after normalisation (see classify.normalise): NFKC, case-folded,
without spaces and punctuation, so "Ｙｅｓ!" matches "yes" and "退 订" matches "退订".
"""
from flask import current_app, has_app_context

DEFAULT_WORDS = {
    # Keywords about the subscription: only a text that is exactly one of these counts
    # (Twilio's own STOP/START/HELP words, and the usual Chinese SMS ones: TD, T = 退订).
    "opt_out": ["stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout",
                "退订", "td", "t", "取消订阅", "退订短信", "取消", "退出"],
    "opt_in": ["start", "unstop", "subscribe", "订阅", "重新订阅", "恢复订阅", "恢复"],
    "help": ["help", "info", "帮助", "求助", "怎么回复", "?"],
    # Answers to a notice. A text that is exactly one of these, or that starts with one and goes on
    # (see classify), counts; "1"/"2" are what the reply instruction asks for.
    "confirm": ["1", "是", "是的", "确认", "确认参加", "参加", "准时参加", "按时参加", "参会", "出席", "准时出席",
                "可以", "同意", "行", "能", "能参加", "会", "确定", "一定参加", "没问题",
                "yes", "y", "sure", "confirm", "confirmed", "attend", "accept"],
    # Words that only say the text arrived: "收到" is not "I will attend" (issue 16 item 7). A text
    # that starts with one and goes on ("收到，准时参加") is read by what follows.
    "ack": ["收到", "已收到", "收到了", "好", "好的", "知道了", "知道", "明白", "已阅", "已知悉", "知悉",
                    "谢谢", "收到谢谢", "ok", "okay", "received", "noted", "thanks"],
    # Texted on the day of a meeting the deputy was invited to: signs them in.
    "sign_in": ["签到", "已签到", "到", "已到", "qd"],
    "decline": ["2", "否", "不", "不是", "不参加", "请假", "不能参加", "无法参加", "参加不了", "去不了", "来不了",
                "不去", "不来", "不行", "不能", "不可以", "缺席", "no", "n", "decline", "declined", "cannot",
                "cant", "absent", "not attending",
                # Also opt-out keywords: read by context (see classify). English CANCEL is left out,
                # since Twilio itself stops texting a number that sends it.
                "取消", "退出"],
}
# A text that starts with a confirm word yet carries one of these is not a plain "yes".
NEGATIONS = ["不", "没", "无法", "未", "难以", "not", "cant", "cannot", "unable"]


def reply_words():
    """{kind: [words]} in effect (config REPLY_WORDS overrides the defaults kind by kind)."""
    words = dict(DEFAULT_WORDS)
    words["negations"] = NEGATIONS
    if has_app_context():
        words.update(current_app.config.get("REPLY_WORDS") or {})
    return words
