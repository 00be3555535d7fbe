"""Login, logout and the language switch."""
from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from notifier.accounts import sessions
from notifier.accounts.service import find_user
from notifier.audit.service import record
from notifier.extensions import db, limiter
from notifier.timeutil import utcnow
from notifier.web.common import safe_next

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    remember = BooleanField(_l("Remember me"))


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], error_message=_l("Too many login attempts. Please wait a minute and try again."))
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        user = find_user(form.username.data.strip())
        if user is not None and user.active and user.check_password(form.password.data):
            sessions.start(user, remember=form.remember.data)
            user.last_login_at = utcnow()
            record("auth.login", target=user, actor=user)
            db.session.commit()
            return redirect(safe_next(request.args.get("next")))
        record("auth.login_failed", actor=form.username.data.strip()[:64] or "anonymous")
        db.session.commit()
        flash(_("Wrong username or password."), "error")
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    record("auth.logout")
    db.session.commit()
    logout_user()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/logout/everywhere", methods=["POST"])
@login_required
def logout_everywhere():
    """End this user's sessions on every browser (a phone left logged in, a shared computer)."""
    sessions.end_everywhere(current_user._get_current_object())
    logout_user()
    flash(_("You have logged out on every browser."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=["POST"])
def set_language():
    """Switch the interface language; kept on the user's account so it follows them."""
    locale = request.form.get("locale", "")
    if locale in current_app.config["LANGUAGES"]:
        session["locale"] = locale
        if current_user.is_authenticated:
            current_user.locale = locale
            db.session.commit()
    return redirect(safe_next(request.form.get("next") or request.referrer and request.referrer.replace(request.host_url.rstrip("/"), "")))
