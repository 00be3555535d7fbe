"""Every model, imported in one place so Alembic and the app see the whole schema."""
import notifier.audit.chain  # noqa: F401,E402  (chains every audit row as it is written)
from notifier.accounts.models import ApiToken, User  # noqa: F401
from notifier.audit.models import AuditEvent  # noqa: F401
from notifier.delivery.models import GatewayExchange, Message, MessageEvent, MessagePart  # noqa: F401
from notifier.duty.models import Attendance, Suggestion  # noqa: F401
from notifier.gateways.models import GatewayState  # noqa: F401
from notifier.jobs.models import Job  # noqa: F401,E402  (issue 15: background jobs)
from notifier.notices.models import Notice, Setting, SmsTemplate  # noqa: F401
from notifier.replies.models import InboundMessage, Reminder  # noqa: F401
from notifier.reports.models import DeliveryDaily  # noqa: F401,E402  (and the message log indexes)
from notifier.roster.models import Deputy, DeputyGroup, Level, Tag  # noqa: F401
