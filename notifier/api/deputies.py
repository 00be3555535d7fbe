"""Deputies: list, create, read, update, import. Thin views over notifier.roster."""
from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user

from notifier.api.common import MAX_ID, ApiBlueprint, keyset_page, not_found
from notifier.api.deputy_schemas import (
    DeputyCreateSchema,
    DeputyListArgs,
    DeputyPageSchema,
    DeputyPatchSchema,
    DeputySchema,
    ImportArgs,
    ImportFileSchema,
    ImportResultSchema,
)
from notifier.api.errors import ApiError
from notifier.extensions import db
from notifier.reports.masking import masker
from notifier.roster.importer import RosterFileError, apply_import, preview_import
from notifier.roster.levels import LevelError
from notifier.roster.models import Deputy
from notifier.roster.service import (
    DeputyInvalid,
    create_deputy,
    deputy_query,
    deputy_to_dict,
    set_opted_out,
    update_deputy,
)


def _shown(deputy, mask=None):
    """deputy_to_dict with the number as the token's user may see it."""
    return {**deputy_to_dict(deputy), "phone": (mask or masker(current_user))(deputy.phone)}


blp = ApiBlueprint("api_deputies", __name__, url_prefix="/api/v1/deputies", description="Deputies on the roster")


def _actor():
    return current_user._get_current_object()


def _invalid(exc):
    # The domain's field names are the API's: {"phone": [...]} -> {"json": {"phone": [...]}}.
    return ApiError(422, errors={"json": exc.errors})


def _deputy_or_404(deputy_id):
    deputy = db.session.get(Deputy, deputy_id) if deputy_id <= MAX_ID else None
    if deputy is None:
        raise not_found()
    return deputy


@blp.route("")
class Deputies(MethodView):
    @blp.requires("view")
    @blp.arguments(DeputyListArgs, location="query")
    @blp.response(200, DeputyPageSchema)
    def get(self, args):
        """List deputies, oldest first, a page at a time (keyset pagination by id)."""
        try:
            query = deputy_query(
                q=args.get("q"),
                levels=args.get("level"),
                tags=args.get("tag"),
                active=args.get("active"),
                opted_out=args.get("opted_out"),
            )
        except LevelError as exc:
            raise ApiError(422, errors={"query": {"level": [str(exc)]}}) from None
        mask = masker(current_user)
        return keyset_page(query, Deputy.id, args.get("cursor"), args["limit"], lambda d: _shown(d, mask))

    @blp.requires("edit_roster")
    @blp.arguments(DeputyCreateSchema)
    @blp.response(201, DeputySchema)
    def post(self, data):
        """Add a deputy. A phone number already on the roster is a 422 error on `phone`."""
        try:
            deputy = create_deputy(data, actor=_actor())
        except DeputyInvalid as exc:
            db.session.rollback()
            raise _invalid(exc) from None
        return _shown(deputy)


@blp.route("/<int:deputy_id>")
class DeputyItem(MethodView):
    @blp.requires("view")
    @blp.response(200, DeputySchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, deputy_id):
        """One deputy."""
        return _shown(_deputy_or_404(deputy_id))

    @blp.requires("edit_roster")
    @blp.arguments(DeputyPatchSchema)
    @blp.response(200, DeputySchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def patch(self, data, deputy_id):
        """Change some fields. `opted_out` may be changed by admins only, with a `reason`."""
        deputy = _deputy_or_404(deputy_id)
        opted_out, reason = data.pop("opted_out", None), data.pop("reason", None)
        if opted_out is not None:
            if not current_user.can("admin"):
                raise ApiError(403, errors={"json": {"opted_out": [_("Only an administrator may change this.")]}})
            if reason is None:
                raise ApiError(422, errors={"json": {"reason": [_("Say why opted_out changes.")]}})
        elif reason is not None:
            raise ApiError(422, errors={"json": {"reason": [_("A reason goes only with opted_out.")]}})
        try:
            if opted_out is not None:
                # One transaction with the other changes: nothing is written if they are invalid.
                set_opted_out(deputy, opted_out, f"admin: {reason}", actor=_actor(), commit=False)
            if data:
                update_deputy(deputy, data, actor=_actor())
            db.session.commit()
        except DeputyInvalid as exc:
            db.session.rollback()
            raise _invalid(exc) from None
        return _shown(deputy)


@blp.route("/import")
class DeputyImport(MethodView):
    @blp.requires("edit_roster")
    @blp.arguments(ImportArgs, location="query")
    @blp.arguments(ImportFileSchema, location="files")
    @blp.response(200, ImportResultSchema)
    @blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
    def post(self, args, files):
        """Import a roster file. With `dry_run=true` nothing is written; otherwise every valid row
        is applied in one transaction and rows with errors are left out (and listed)."""
        upload = files["file"]
        filename = (upload.filename or "")[:255]
        data = upload.read()
        try:
            if args["dry_run"]:
                preview = preview_import(data, filename)
            else:
                preview = apply_import(data, filename, actor=_actor())
        except RosterFileError as exc:
            raise ApiError(422, errors={"files": {"file": [str(exc)]}}) from None
        return {**preview.to_dict(), "dry_run": args["dry_run"]}
