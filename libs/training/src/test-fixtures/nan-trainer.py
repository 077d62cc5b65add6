# A Python trainer whose metrics go through json.dumps with its defaults: NaN and Infinity are
# written as bare tokens, which are not JSON. Also one explicit null, and two lines that stay bad.
import json
import os

events = os.fdopen(3, "w")


def emit(event):
    events.write(json.dumps(event) + "\n")


emit({"type": "metric", "name": "loss", "step": 1, "value": float("nan")})
emit({"type": "metric", "name": "loss", "step": 2, "value": 0.5})
emit({"type": "metric", "name": "loss", "step": 3, "value": float("inf")})
emit({"type": "metrics", "points": [["acc", 1, 0.5], ["acc", 2, float("-inf")], ["acc", 3, 0.7]]})
emit({"type": "metric", "name": "loss", "step": 4, "value": None})
emit({"type": "log", "level": "info", "message": "loss was NaN at step 1, Infinity at step 3"})
emit({"type": "progress", "fraction": float("nan")})  # not a metric: stays malformed
events.write('{"type": "log", "message": "NaN", oops}\n')  # not JSON for other reasons
os.makedirs(os.path.join(os.environ["TRAINYARD_JOB_DIR"], "output", "model"), exist_ok=True)
events.close()
