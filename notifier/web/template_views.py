"""The templates page: the templates approved at a template-only gateway (Aliyun), and a form to
register one (composers and up; audited). Thin views over notifier.notices.templates."""
from flask import abort, flash, redirect, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from notifier.extensions import db
from notifier.notices import templates
from notifier.notices.models import TEMPLATE_GATEWAYS, SmsTemplate
from notifier.web.base import ProtectedView, SecureForm
from notifier.web.gateway_views import gateway_label


class TemplateForm(SecureForm):
    code = StringField(_l("Template code"), validators=[DataRequired(), Length(max=64)],
                       description=_l("As the gateway gave it after review, e.g. SMS_123456789."))
    gateway = SelectField(_l("Gateway"), choices=lambda: [(g, gateway_label(g)) for g in TEMPLATE_GATEWAYS])
    name = StringField(_l("Template name"), validators=[Length(max=100)])
    text = TextAreaField(_l("Approved text"), validators=[DataRequired(), Length(max=500)],
                         description=_l("Exactly as approved, with its ${variables}, without the signature."))
    approved = BooleanField(_l("Approved"), default=True, description=_l("The gateway has approved it."))


class TemplatesView(ProtectedView):
    permission = "view"

    @expose("/", methods=("GET", "POST"))
    def index(self):
        form = TemplateForm()
        if form.is_submitted():
            if not current_user.can("compose"):
                abort(403)
            if form.validate():
                try:
                    template = templates.add_template(form.data, current_user._get_current_object())
                except templates.TemplateInvalid as exc:
                    db.session.rollback()
                    for key, messages in exc.errors.items():
                        getattr(form, key).errors = list(messages)
                else:
                    flash(_("Template %(code)s is registered.", code=template.code), "success")
                    return redirect(url_for(".index"))
        rows = db.session.scalars(select(SmsTemplate).order_by(SmsTemplate.gateway, SmsTemplate.code)).all()
        return self.render("sms_templates/index.html", rows=rows, form=form, gateway_label=gateway_label,
                           can_add=current_user.can("compose"))


def register(admin):
    admin.add_view(TemplatesView(name=_l("SMS templates"), endpoint="sms_templates", url="/templates"))
