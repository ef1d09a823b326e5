"""Page script: the Open-a-log page (see app.views.open_log)."""
import sys

from app.views import open_log
from app.views.common import context, parse_args

open_log.page(context(parse_args(sys.argv[1:]).logs))
