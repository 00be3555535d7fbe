"""The gateways page (admins): each gateway's health, pause and priority, a check on demand.
Thin views over notifier.gateways.health."""
from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from notifier.delivery.sending import get_limiter
from notifier.gateways import health
from notifier.gateways.models import MISCONFIGURED, REFUSING, UP
from notifier.gateways.senders import shown_sender
from notifier.web.base import ProtectedView

HEALTH_LABELS = {UP: _l("Working"), REFUSING: _l("Not answering"), MISCONFIGURED: _l("Misconfigured")}
GATEWAY_LABELS = {"twilio": "Twilio", "cmpp": _l("China Mobile CMPP"), "aliyun": _l("Aliyun SMS")}


def gateway_label(name):
    return GATEWAY_LABELS.get(name, name)


def _rows():
    registry = health.get_registry()
    states = health.views(registry)
    order = {name: view.position for name, view in states.items() if view.position is not None}
    rows = []
    for name in registry.candidates("", order) + [n for n in registry.names if n not in registry.candidates("", order)]:
        view = states[name]
        try:
            adapter = registry.adapter(name)
        except Exception as exc:  # noqa: BLE001  (its settings are missing: say so on its row)
            view.health, view.detail, adapter = MISCONFIGURED, str(exc), None
        try:
            measured = get_limiter(name).measured_rate(adapter.sender or "default") if adapter else None
        except Exception:  # noqa: BLE001  (Redis down: the page still shows the rest)
            measured = None
        rows.append({"view": view, "kind": adapter.kind if adapter else None, "rate": registry.rate(name),
                     "measured": measured, "label": gateway_label(name)})
    return rows


class GatewaysView(ProtectedView):
    permission = "admin"

    @expose("/")
    def index(self):
        registry = health.get_registry()
        return self.render("gateways/index.html", rows=_rows(), health_labels=HEALTH_LABELS,
                           routes=registry.routes)

    @expose("/<gateway>/pause", methods=["POST"])
    def pause(self, gateway):
        name = gateway
        paused = request.form.get("paused") == "1"
        if health.set_paused(name, paused, current_user._get_current_object()):
            flash(_("%(name)s is paused: its texts go to the next gateway or wait.", name=gateway_label(name))
                  if paused else _("%(name)s carries texts again.", name=gateway_label(name)), "success")
        return redirect(url_for(".index"))

    @expose("/order", methods=["POST"])
    def order(self):
        names = [row["view"].name for row in _rows()]
        name, step = request.form.get("name"), -1 if request.form.get("move") == "up" else 1
        if name in names:
            i = names.index(name)
            j = min(max(i + step, 0), len(names) - 1)
            names[i], names[j] = names[j], names[i]
            health.set_order(names, current_user._get_current_object())
            flash(_("The order of the gateways is saved."), "success")
        return redirect(url_for(".index"))

    @expose("/<gateway>/check", methods=["POST"])
    def check(self, gateway):
        name = gateway
        if name not in health.get_registry().names:
            return redirect(url_for(".index"))
        if health.probe(name):
            flash(_("%(name)s answers and carries texts.", name=gateway_label(name)), "success")
        else:
            flash(_("%(name)s still does not answer.", name=gateway_label(name)), "error")
        return redirect(url_for(".index"))


def gateway_plan():
    """The gateways a notice to deputies would go through now, in order (mainland numbers)."""
    registry = health.get_registry()
    states = health.views(registry)
    order = {name: view.position for name, view in states.items() if view.position is not None}
    names = [n for n in registry.candidates("+86", order) if states[n].available]
    return [gateway_label(n) for n in names] or [_("no gateway is available now: texts will wait")]


def banner():
    """What the page banner says about gateways that carry nothing now: [(label, view)]."""
    return [(gateway_label(view.name), view) for view in health.problems()]


def message_sender(message):
    """The gateway's sender of a message, written as numbers are, when it is a real one (else None)."""
    from notifier.web.roster_views import display_phone

    get = message.get if isinstance(message, dict) else lambda key: getattr(message, key, None)
    sender = shown_sender(get("gateway"), get("sender"))
    return display_phone(sender) if sender and sender.startswith("+") else sender


def register(admin):
    admin.add_view(GatewaysView(name=_l("Gateways"), endpoint="gateways", url="gateways",
                                category=_l("Administration")))
    admin.app.add_template_global(banner, "gateway_banner")
    admin.app.add_template_global(gateway_label, "gateway_label")
    admin.app.add_template_global(gateway_plan, "gateway_plan")
    admin.app.add_template_global(lambda notice: health.reply_number(notice.reply_code), "reply_number")
    admin.app.add_template_global(message_sender, "gateway_sender")
