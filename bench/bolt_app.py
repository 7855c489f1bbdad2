"""The peer in the W1 benchmark: `/vibe help` in Bolt for Python, async app on its aiohttp
server. Bolt verifies the signature and timestamp, parses the form and acknowledges with the
same blocks vibe sends (read from REPLY.json).

python bolt_app.py PORT REPLY.json   (SLACK_SIGNING_SECRET in the environment)
"""
import json
import os
import sys

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult

port = int(sys.argv[1])
reply = json.load(open(sys.argv[2]))


async def authorize(enterprise_id, team_id, user_id, logger):
    # A single-workspace install whose token is known: no network call per request, as in vibe.
    return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id,
                           bot_token="xoxb-bench", bot_user_id="U0BOT", bot_id="B0BOT")


app = AsyncApp(signing_secret=os.environ["SLACK_SIGNING_SECRET"], authorize=authorize,
               process_before_response=True)


@app.command("/vibe")
async def vibe(ack, command):
    if command.get("text", "").strip() in ("", "help"):
        await ack(response_type=reply.get("response_type", "ephemeral"),
                  text=reply.get("text"), blocks=reply.get("blocks"))
    else:
        await ack(text="unknown command")


if __name__ == "__main__":
    import logging
    logging.getLogger().setLevel(logging.WARNING)
    app.start(port=port, path="/slack/commands")
