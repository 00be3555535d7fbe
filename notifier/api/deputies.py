"""Deputies: list, create, read, update, import."""
from flask_smorest import Blueprint

blp = Blueprint("api_deputies", __name__, url_prefix="/api/v1/deputies", description="Deputies on the roster")
