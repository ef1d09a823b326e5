"""Page script: the Runs page (see app.views.runs)."""
import sys

from app.views import runs
from app.views.common import context, parse_args

runs.page(context(parse_args(sys.argv[1:]).logs))
