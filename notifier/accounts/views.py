"""Login (password, then the second factor where it applies), logout and the language switch."""
import time

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
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

from notifier.accounts import lockout, sessions, totp
from notifier.accounts.models import User
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
        if user is not None and user.active and lockout.locked(user):
            record("auth.login_failed", target=user, actor=user.username, reason="locked")
            db.session.commit()
            flash(_locked_message(user), "error")
        elif user is not None and user.active and user.check_password(form.password.data):
            if user.needs_second_factor:
                return begin_second_factor(user, form.remember.data, request.args.get("next"))
            return _complete_login(user, form.remember.data, request.args.get("next"))
        else:
            if user is not None and user.active:
                lockout.failed(user, "password")
            else:
                record("auth.login_failed", actor=form.username.data.strip()[:64] or "anonymous")
                db.session.commit()
            if user is not None and user.active and lockout.locked(user):
                flash(_locked_message(user), "error")
            else:
                flash(_("Wrong username or password."), "error")
    return render_template("auth/login.html", form=form)


PENDING = "_second_factor"
PENDING_SECONDS = 300


class CodeForm(FlaskForm):
    code = StringField(_l("Verification code"), validators=[DataRequired(), Length(max=32)])


def begin_second_factor(user, remember, next_url):
    """Nobody is logged in until the second factor is given; this browser only remembers, for a
    few minutes, whose password it was."""
    session[PENDING] = {"user": user.get_id(), "at": int(time.time()), "remember": bool(remember), "next": next_url}
    return redirect(url_for("auth.two_factor"))


def _locked_message(user):
    return _("This account is locked after repeated failed logins. Try again in %(minutes)d minutes, "
             "or ask the security administrator to unlock it.", minutes=lockout.minutes_left(user))


def _complete_login(user, remember, next_url):
    lockout.succeeded(user)
    sessions.start(user, remember=remember)
    user.last_login_at = utcnow()
    record("auth.login", target=user, actor=user, second_factor=user.totp_enrolled)
    db.session.commit()
    return redirect(safe_next(next_url))


def _pending_user():
    """The user whose password this browser gave in the last few minutes, if still valid."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or int(time.time()) - int(pending.get("at") or 0) > PENDING_SECONDS:
        return None, None
    user_id, _, generation = str(pending.get("user", "")).partition(":")
    user = db.session.get(User, int(user_id)) if user_id.isdigit() and int(user_id) < 2**31 else None
    if user is None or not user.active or str(user.session_generation or 0) != generation:
        return None, None
    return user, pending


@bp.route("/two-factor", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], error_message=_l("Too many login attempts. Please wait a minute and try again."))
def two_factor():
    """The second step: a code from the authenticator app (or a recovery code); on the first
    login, enrolment with a QR code."""
    user, pending = _pending_user()
    if user is None:
        session.pop(PENDING, None)
        flash(_("Please log in again."), "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    enrolling = not user.totp_enrolled
    if lockout.locked(user):
        session.pop(PENDING, None)
        flash(_locked_message(user), "error")
        return redirect(url_for("auth.login"))
    if form.validate_on_submit():
        try:
            if enrolling:
                codes = totp.confirm_enrolment(user, form.code.data)
            else:
                totp.check_code(user, form.code.data)
        except totp.CodeRefused as refused:
            db.session.rollback()
            record("auth.second_factor_failed", target=user, actor=user, reason=refused.reason)
            lockout.failed(user, "second_factor")  # commits
            if lockout.locked(user):
                session.pop(PENDING, None)
                flash(_locked_message(user), "error")
                return redirect(url_for("auth.login"))
            form.code.errors = [_("This code was already used. Wait for the next one.") if refused.reason == "reused"
                                else _("That code is not right. Check the time on your phone and try again.")]
        else:
            session.pop(PENDING, None)
            response = _complete_login(user, pending.get("remember"), pending.get("next"))
            if enrolling:
                # The recovery codes are shown this once, then only their hashes remain.
                response = make_response(render_template("auth/recovery_codes.html", codes=codes,
                                                         next_url=response.headers["Location"]))
                response.headers["Cache-Control"] = "no-store"
            return response
    if enrolling:
        secret = totp.pending_secret(user)
        uri = totp.provisioning_uri(user)
        response = make_response(render_template("auth/enrol.html", form=form, secret=secret,
                                                 qr=totp.qr_svg_data_uri(uri), user=user))
        response.headers["Cache-Control"] = "no-store"
        return response
    return render_template("auth/two_factor.html", form=form, user=user)


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
