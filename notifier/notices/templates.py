"""Templates of template-only gateways (Aliyun): staff register each one as the gateway approved
it (its code, its text with ${var} variables), and a notice for such a gateway is composed from
one. What a deputy receives is exactly the approved text under the signature, its variables
filled, so the variables carry everything that changes: the staff's words, the deputy's name
({name} and the other placeholders fill a variable per deputy), the notice's #code.

Aliyun's rules for a variable's value: at most 35 characters, no link, no 【】 (the signature's
brackets). They are checked at compose time with a sample deputy and again per deputy when the
texts are written.
"""
import re
import string

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from notifier.audit.service import record
from notifier.extensions import db
from notifier.notices import rendering
from notifier.notices.models import TEMPLATE_GATEWAYS, VARIABLE, SmsTemplate, variables  # noqa: F401

MAX_VALUE = 35
_LINK = re.compile(r"(?:https?://|www\.|\b[\w-]+\.(?:com|cn|net|org|gov|top|xyz|info|me|cc)\b)", re.I)
CODE_VARIABLE = "code"  # filled with the notice's reply code, so a bare reply threads by #code


class TemplateInvalid(ValueError):
    """.errors = {field: [messages]} (translated)."""

    def __init__(self, errors):
        super().__init__("; ".join(m for ms in errors.values() for m in ms))
        self.errors = errors


def template_fields(data):
    """Validate a template's fields (code, gateway, text, name, approved); TemplateInvalid."""
    errors = {}
    code = str(data.get("code") or "").strip()
    if not re.fullmatch(r"[A-Za-z0-9_\-]{1,64}", code):
        errors["code"] = [_("The template code is required: letters, digits, _ and -, as the gateway gave it.")]
    gateway = str(data.get("gateway") or "aliyun").strip().lower()
    if gateway not in TEMPLATE_GATEWAYS:
        errors["gateway"] = [_("Choose one of: %(choices)s.", choices=", ".join(TEMPLATE_GATEWAYS))]
    text = str(data.get("text") or "").strip()
    if not text:
        errors["text"] = [_("The approved text is required.")]
    elif len(text) > 500:
        errors["text"] = [_("At most %(n)s characters.", n=500)]
    elif "【" in text or "】" in text:
        errors["text"] = [_("Leave the signature out: the gateway adds it.")]
    elif "${" in VARIABLE.sub("", text):
        errors["text"] = [_("Variables are written ${name}: letters, digits and _.")]
    name = str(data.get("name") or "").strip()[:100]
    if errors:
        raise TemplateInvalid(errors)
    return {"code": code, "gateway": gateway, "text": text, "name": name, "approved": bool(data.get("approved", True))}


def add_template(data, actor=None):
    """Register a template (or correct one: same gateway and code). Audited. Commits."""
    fields = template_fields(data)
    template = db.session.scalar(select(SmsTemplate).where(SmsTemplate.gateway == fields["gateway"],
                                                           SmsTemplate.code == fields["code"]))
    action = "template.update" if template is not None else "template.create"
    if template is None:
        template = SmsTemplate(created_by_id=getattr(actor, "id", None))
        db.session.add(template)
    for key, value in fields.items():
        setattr(template, key, value)
    db.session.flush()
    record(action, template, actor=actor if actor is not None else "cli", code=template.code,
           gateway=template.gateway, approved=template.approved)
    db.session.commit()
    return template


def find_template(code, approved_only=True):
    query = select(SmsTemplate).where(SmsTemplate.code == str(code or "").strip())
    if approved_only:
        query = query.where(SmsTemplate.approved.is_(True))
    return db.session.scalar(query.order_by(SmsTemplate.id).limit(1))


def approved_templates():
    return db.session.scalars(select(SmsTemplate).where(SmsTemplate.approved.is_(True))
                              .order_by(SmsTemplate.gateway, SmsTemplate.code)).all()


# --- variables and the text ------------------------------------------------------------------------

def value_problem(value):
    """Why a variable's value breaks Aliyun's rules (translated), or None."""
    if len(value) > MAX_VALUE:
        return _("At most %(n)s characters in a variable (this one has %(count)s).", n=MAX_VALUE, count=len(value))
    if _LINK.search(value):
        return _("A variable may not hold a link.")
    if "【" in value or "】" in value:
        return _("A variable may not hold 【 or 】.")
    return None


def check_params(template, params, code=None):
    """Validate the staff's values for a template's variables ({var: text, may use {name} and the
    other placeholders}). Filled with a sample deputy, each must keep Aliyun's rules. Returns the
    cleaned values; TemplateInvalid with errors keyed "params.<var>"."""
    errors, clean = {}, {}
    params = params if isinstance(params, dict) else {}
    for key in params:
        if key not in template.variables:
            errors[f"params.{key}"] = [_("The template has no variable ${%(name)s}.", name=key)]
    for var in template.variables:
        raw = params.get(var)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if var in rendering.PLACEHOLDERS or var == CODE_VARIABLE:
                continue  # filled per deputy, or with the reply code
            errors[f"params.{var}"] = [_("A value for ${%(name)s} is required.", name=var)]
            continue
        if not isinstance(raw, (str, int, float)) or isinstance(raw, bool):
            errors[f"params.{var}"] = [_("A text is required.")]
            continue
        raw = str(raw).strip()
        try:
            rendering.placeholders_in(raw)
            sample = raw.format(**rendering.SAMPLE_DEPUTY)
        except rendering.RenderError as exc:
            errors[f"params.{var}"] = [str(exc)]
            continue
        problem = value_problem(sample)
        if problem:
            errors[f"params.{var}"] = [problem]
        clean[var] = raw
    if errors:
        raise TemplateInvalid(errors)
    return clean


def fill(template, params, deputy=None, code=None):
    """The values sent for one deputy (None: the sample deputy): the staff's values with the
    deputy's placeholders filled; the deputy's own fields and the reply code where left blank."""
    values = rendering._values(deputy)
    out = {}
    for var in template.variables:
        raw = (params or {}).get(var)
        if raw is None or raw == "":
            if var == CODE_VARIABLE:
                out[var] = f"{code or ''}"
            else:
                out[var] = str(values.get(var, ""))
        else:
            out[var] = string.Formatter().vformat(str(raw), (), values)
    return out


def signature(gateway):
    """The signature the gateway puts before a template's text: Aliyun's registered sign name."""
    if gateway == "aliyun":
        sign = (current_app.config.get("ALIYUN_SMS_SIGN_NAME") or "").strip().strip("【】")
        if sign:
            return f"【{sign}】"
    return current_app.config.get("SMS_SIGNATURE", "")


def render(template, values):
    """The text as the deputy reads it: the signature, then the approved text, variables filled."""
    return signature(template.gateway) + VARIABLE.sub(lambda m: values.get(m[1], ""), template.text)


def preview(template, params, code=None):
    """(text, Rendered) for the sample deputy."""
    text = render(template, fill(template, params, None, code))
    return text, rendering.measure(text)


def display_body(template, params):
    """The notice's `body` for a templated notice: the template's text with the staff's values,
    the per-deputy variables as {placeholders} (so lists, exports and the body-based checks read
    it like any notice's body)."""
    def value(match):
        var = match[1]
        raw = (params or {}).get(var)
        if raw:
            return str(raw)
        return "{" + var + "}" if var in rendering.PLACEHOLDERS else ""
    parts = VARIABLE.split(template.text)
    # split() alternates literal text and variable names: escape braces in the literal text only.
    out = []
    for index, part in enumerate(parts):
        out.append(part.replace("{", "{{").replace("}", "}}") if index % 2 == 0 else value(VARIABLE.match(
            "${" + part + "}")))
    return "".join(out)


def texts_for(notice, deputies, code=None):
    """[(deputy, values, text, problem)] for a templated notice: what each deputy would receive,
    and why one cannot (a value over Aliyun's rules once the deputy's fields are in)."""
    template = notice.template
    code = code or notice.reply_code
    out = []
    for deputy in deputies or [None]:
        values = fill(template, notice.template_params or {}, deputy, code)
        problem = next((f"${{{var}}}: {p}" for var, v in values.items() if (p := value_problem(v))), None)
        out.append((deputy, values, render(template, values), problem))
    return out
