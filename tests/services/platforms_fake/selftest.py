#!/usr/bin/env python3
"""Checks the platforms fake (fake.py) against docs/platforms-contract.md, section 1.

    python3 tests/services/platforms_fake/selftest.py [-v]

Starts the fake on a free port, calls every route and every fault once with urllib (as the
product would: query strings, JSON and form bodies), checks the answers' status codes and
documented shapes, the control API, the call log and the served log, and stops it. Also checks
that every fixture is valid JSON, listed in its folder's NOTES.md and used. Exits 1 on any
mismatch, listing them all.
"""

import base64
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
VERBOSE = "-v" in sys.argv[1:]
failures = []
checks = 0


def check(condition, what, detail=None):
    global checks
    checks += 1
    if not condition:
        failures.append(what + ("" if detail is None else ": %s" % (detail,)))
        print("FAIL", failures[-1], file=sys.stderr)
    elif VERBOSE:
        print("ok  ", what)
    return condition


def fx(platform, name):
    with open(os.path.join(FIXTURES, platform, name + ".json"), encoding="utf-8") as f:
        return json.load(f)


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        try:
            self.json = json.loads(body.decode("utf-8")) if body else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return "%d %s" % (self.status, self.body[:300])


BASE = None


def call(verb, path, query=None, json_body=None, form=None, headers=None, timeout=40, url=None):
    target = url or BASE + path
    if query:
        target += ("&" if "?" in target else "?") + urllib.parse.urlencode(query)
    data = None
    headers = dict(headers or {})
    if json_body is not None:
        data = json.dumps(json_body).encode()
        headers["Content-Type"] = "application/json"
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(target, data=data, method=verb, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as e:
        return Answer(e.code, e.headers, e.read())


def control(path, body=None):
    if body is None:
        answer = call("GET", "/_control/" + path)
    else:
        answer = call("POST", "/_control/" + path, json_body=body)
    if answer.status != 200:
        raise SystemExit("control %s %s answered %r" % (path, body, answer))
    return answer.json


def fault(platform, method, kind, times=1, **extra):
    control("faults", dict({"platform": platform, "method": method, "fault": kind, "times": times}, **extra))


def error_reason(answer):
    try:
        return answer.json["error"]["errors"][0]["reason"]
    except (TypeError, KeyError, IndexError):
        return None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --------------------------------------------------------------------------------------------


# Fixtures whose names fake.py builds rather than spells out.
BUILT_NAMES = {("vk", "error_%d" % code) for code in (3, 5, 6, 8, 10, 29, 100)} | {
    ("vk", "failed_2"), ("vk", "failed_3"), ("vk", "video_comment_new.object"), ("vk", "wall_reply_new.object")} | {
    (platform, "malformed") for platform in ("youtube", "telegram", "vk", "facebook")}


def check_fixtures():
    sources = ""
    for name in ("fake.py", "selftest.py"):
        with open(os.path.join(HERE, name), encoding="utf-8") as f:
            sources += f.read()
    for platform in ("youtube", "telegram", "vk", "facebook"):
        folder = os.path.join(FIXTURES, platform)
        notes_path = os.path.join(folder, "NOTES.md")
        if not check(os.path.exists(notes_path), "fixtures/%s/NOTES.md exists" % platform):
            continue
        with open(notes_path, encoding="utf-8") as f:
            notes = f.read()
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".json"):
                continue
            stem = name[:-5]
            try:
                fx(platform, stem)
                valid = True
            except ValueError as e:
                valid = False
                check(False, "fixtures/%s/%s is JSON" % (platform, name), e)
            if valid:
                check("`%s`" % name in notes, "fixtures/%s/%s is listed in NOTES.md" % (platform, name))
                used = ('"%s/%s"' % (platform, stem) in sources or '"%s"' % stem in sources
                        or (platform, stem) in BUILT_NAMES)
                check(used, "fixtures/%s/%s is used by fake.py or selftest.py" % (platform, name))
        for url in re.findall(r"(?<!`)https?://[^\s`]+", notes):  # `base URLs` are not citations
            check(url.startswith(("https://developers.google.com", "https://developers.facebook.com",
                                  "https://core.telegram.org", "https://dev.vk.com", "https://datatracker.ietf.org",
                                  "https://cloud.google.com")),
                  "fixtures/%s/NOTES.md cites an official page" % platform, url)


def youtube():
    control("youtube/broadcasts", {"id": "vid1", "live_chat_id": "chat1"})
    check(control("youtube/polling_interval_ms", {"ms": 250}) == {"ms": 250}, "youtube: polling interval set")

    # The token exchange, with the form the product sends.
    token_form = fx("youtube", "oauth_token.request")
    answer = call("POST", "/google-oauth/token", form=token_form)
    check(answer.status == 200, "oauth: refresh grant answers 200", answer)
    body = answer.json or {}
    check(set(body) == {"access_token", "expires_in", "scope", "token_type"} and body.get("token_type") == "Bearer"
          and isinstance(body.get("expires_in"), int), "oauth: token response shape", body)
    access = body.get("access_token", "")
    auth = {"Authorization": "Bearer " + access}
    answer = call("POST", "/google-oauth/token", form=dict(token_form, grant_type="authorization_code"))
    check(answer.status == 400 and answer.json.get("error") == "unsupported_grant_type", "oauth: other grant", answer)
    answer = call("POST", "/google-oauth/token", form={k: v for k, v in token_form.items() if k != "refresh_token"})
    check(answer.status == 400 and answer.json.get("error") == "invalid_request", "oauth: no refresh_token", answer)
    answer = call("POST", "/google-oauth/token", form={k: v for k, v in token_form.items() if k != "client_id"})
    check(answer.status == 401 and answer.json.get("error") == "invalid_client", "oauth: no client_id", answer)

    list_query = {"liveChatId": "chat1", "part": "snippet,authorDetails"}
    path = "/google/youtube/v3/liveChat/messages"
    answer = call("GET", path, list_query)
    check(answer.status == 401 and error_reason(answer) == "required", "youtube: no credentials -> 401 required",
          answer)
    answer = call("GET", path, list_query, headers={"Authorization": "Bearer ya29.unknown"})
    check(answer.status == 401 and error_reason(answer) == "authError"
          and answer.json["error"]["status"] == "UNAUTHENTICATED"
          and answer.json["error"]["message"].startswith("Request had invalid authentication credentials"),
          "youtube: unknown access token -> 401 authError", answer)
    answer = call("GET", path, {"liveChatId": "nochat", "part": "snippet"}, headers=auth)
    check(answer.status == 404 and error_reason(answer) == "liveChatNotFound", "youtube: unknown chat -> 404", answer)
    answer = call("GET", path, {"liveChatId": "chat1"}, headers=auth)
    check(answer.status == 400 and error_reason(answer) == "missingRequiredParameter", "youtube: no part -> 400",
          answer)
    answer = call("GET", path, dict(list_query, pageToken="%%%"), headers=auth)
    check(answer.status == 400 and error_reason(answer) == "invalidPageToken", "youtube: bad pageToken -> 400", answer)

    answer = call("GET", path, list_query, headers=auth)
    check(answer.status == 200 and answer.json["items"] == [] and answer.json["pollingIntervalMillis"] == 250
          and answer.json["nextPageToken"], "youtube: empty chat", answer)
    first_token = answer.json["nextPageToken"] if answer.json else ""

    sent = [control("youtube/messages", {"live_chat_id": "chat1", "author_channel_id": "UCauthor%d" % i,
                                         "author_name": "Author %d" % i, "text": "question %d" % i})
            for i in range(3)]
    sent.append(control("youtube/messages", {"live_chat_id": "chat1", "author_channel_id": "UCmod",
                                             "author_name": "Mod", "text": "own id", "id": "LCC.own-id",
                                             "is_chat_moderator": True}))
    check(sent[3]["id"] == "LCC.own-id", "youtube control: a given id is kept", sent[3])
    answer = call("GET", path, dict(list_query, pageToken=first_token), headers=auth)
    items = answer.json["items"] if answer.status == 200 else []
    check([m["id"] for m in items] == [m["id"] for m in sent], "youtube: messages after the token", answer)
    if items:
        m = items[0]
        check(m["kind"] == "youtube#liveChatMessage" and m["etag"] and m["snippet"]["type"] == "textMessageEvent"
              and m["snippet"]["liveChatId"] == "chat1" and m["snippet"]["authorChannelId"] == "UCauthor0"
              and re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", m["snippet"]["publishedAt"])
              and m["snippet"]["hasDisplayContent"] is True and m["snippet"]["displayMessage"] == "question 0"
              and m["snippet"]["textMessageDetails"]["messageText"] == "question 0",
              "youtube: snippet shape", m)
        d = m["authorDetails"]
        check(d["channelId"] == "UCauthor0" and d["channelUrl"].endswith("/channel/UCauthor0")
              and d["displayName"] == "Author 0" and d["profileImageUrl"].startswith("https://")
              and all(d[k] is False for k in ("isVerified", "isChatOwner", "isChatSponsor", "isChatModerator")),
              "youtube: authorDetails shape", d)
        check(items[3]["authorDetails"]["isChatModerator"] is True, "youtube: isChatModerator from control")
    body = answer.json or {}
    check(body.get("kind") == "youtube#liveChatMessageListResponse" and body.get("etag")
          and body.get("pageInfo") == {"totalResults": 4, "resultsPerPage": 4}, "youtube: list envelope", body)
    second_token = body.get("nextPageToken")
    answer = call("GET", path, dict(list_query, pageToken=second_token), headers=auth)
    check(answer.status == 200 and answer.json["items"] == [], "youtube: nothing after the last token", answer)
    answer = call("GET", path, {"liveChatId": "chat1", "part": "snippet"}, headers=auth)
    check(answer.status == 200 and len(answer.json["items"]) == 4 and "authorDetails" not in answer.json["items"][0],
          "youtube: no token = the history; part=snippet leaves authorDetails out", answer)
    answer = call("GET", path, dict(list_query, maxResults=2), headers=auth)
    check(answer.status == 200 and len(answer.json["items"]) == 2, "youtube: maxResults", answer)
    if answer.status == 200:
        answer = call("GET", path, dict(list_query, maxResults=2, pageToken=answer.json["nextPageToken"]),
                      headers=auth)
        check([m["id"] for m in answer.json["items"]] == [m["id"] for m in sent[2:]], "youtube: second page",
              answer)

    # Delete: 204, then no longer served, then 404.
    delete_path = "/google/youtube/v3/liveChat/messages"
    answer = call("DELETE", delete_path, {"id": sent[1]["id"]}, headers=auth)
    check(answer.status == 204 and answer.body == b"", "youtube: delete -> 204 no body", answer)
    answer = call("DELETE", delete_path, {"id": sent[1]["id"]}, headers=auth)
    check(answer.status == 404 and error_reason(answer) == "liveChatMessageNotFound", "youtube: delete twice -> 404",
          answer)
    answer = call("GET", path, list_query, headers=auth)
    check([m["id"] for m in answer.json["items"]] == [sent[0]["id"], sent[2]["id"], sent[3]["id"]],
          "youtube: a deleted message is no longer served", answer)

    # Bans.
    ban_body = fx("youtube", "liveChatBans.insert.request")
    answer = call("POST", "/google/youtube/v3/liveChat/bans", {"part": "snippet"}, json_body=ban_body, headers=auth)
    check(answer.status == 200 and answer.json["kind"] == "youtube#liveChatBan" and answer.json["id"]
          and answer.json["snippet"]["type"] == "temporary" and answer.json["snippet"]["banDurationSeconds"] == "300"
          and answer.json["snippet"]["bannedUserDetails"]["channelId"] == "UCfakeAuthor0000000000001",
          "youtube: liveChatBans.insert", answer)
    permanent = {"snippet": {"liveChatId": "chat1", "type": "permanent",
                             "bannedUserDetails": {"channelId": "UCauthor2"}}}
    answer = call("POST", "/google/youtube/v3/liveChat/bans", {"part": "snippet"}, json_body=permanent, headers=auth)
    check(answer.status == 200 and "banDurationSeconds" not in answer.json["snippet"]
          and answer.json["snippet"]["bannedUserDetails"]["displayName"] == "Author 2",
          "youtube: permanent ban", answer)
    state = control("state")["youtube"]
    check(state == {"deleted": [sent[1]["id"]], "bans": [
        {"live_chat_id": "chat1", "channel_id": "UCfakeAuthor0000000000001", "type": "temporary",
         "ban_duration_seconds": 300},
        {"live_chat_id": "chat1", "channel_id": "UCauthor2", "type": "permanent", "ban_duration_seconds": None}]},
        "youtube: state", state)

    # Broadcasts and videos.
    broadcasts = "/google/youtube/v3/liveBroadcasts"
    answer = call("GET", broadcasts, {"part": "snippet", "broadcastStatus": "active"}, headers=auth)
    check(answer.status == 200 and answer.json["kind"] == "youtube#liveBroadcastListResponse"
          and [b["id"] for b in answer.json["items"]] == ["vid1"]
          and answer.json["items"][0]["snippet"]["liveChatId"] == "chat1"
          and "status" not in answer.json["items"][0], "youtube: liveBroadcasts.list broadcastStatus=active", answer)
    answer = call("GET", broadcasts, {"part": "snippet,status", "id": "vid1"}, headers=auth)
    check(answer.status == 200 and answer.json["items"][0]["status"]["lifeCycleStatus"] == "live",
          "youtube: liveBroadcasts.list id=", answer)
    answer = call("GET", broadcasts, {"part": "snippet", "broadcastStatus": "active", "mine": "true"}, headers=auth)
    check(answer.status == 400 and error_reason(answer) == "incompatibleParameters",
          "youtube: broadcastStatus with mine -> 400 incompatibleParameters (documented: exactly one filter)",
          answer)
    answer = call("GET", "/google/youtube/v3/videos", {"part": "liveStreamingDetails", "id": "vid1,nope"},
                  headers=auth)
    check(answer.status == 200 and answer.json["kind"] == "youtube#videoListResponse"
          and len(answer.json["items"]) == 1
          and answer.json["items"][0]["liveStreamingDetails"]["activeLiveChatId"] == "chat1"
          and "snippet" not in answer.json["items"][0], "youtube: videos.list liveStreamingDetails", answer)
    answer = call("GET", "/google/youtube/v3/nothing", headers=auth)
    check(answer.status == 404, "youtube: unknown path -> 404", answer)

    # Faults, each once, and `times`.
    for kind, status, reason in (("quotaExceeded", 403, "quotaExceeded"), ("rateLimitExceeded", 403,
                                                                          "rateLimitExceeded"),
                                 ("unauthorized", 401, "authError"), ("http_500", 500, "backendError")):
        fault("youtube", "liveChatMessages.list", kind)
        answer = call("GET", path, list_query, headers=auth)
        check(answer.status == status and error_reason(answer) == reason, "youtube fault %s" % kind, answer)
    quota = call("GET", path, list_query, headers=auth)
    check(quota.status == 200, "youtube: a fault of times=1 applies once", quota)
    fault("youtube", "liveChatMessages.list", "quotaExceeded")
    answer = call("GET", path, list_query, headers=auth)
    check(answer.json["error"]["errors"][0]["domain"] == "youtube.quota", "youtube: quota domain", answer)
    fault("youtube", "liveChatMessages.list", "malformed", times=2)
    for attempt in (1, 2):
        answer = call("GET", path, list_query, headers=auth)
        check(answer.status == 200 and answer.json is None, "youtube fault malformed (%d of 2)" % attempt, answer)
    check(call("GET", path, list_query, headers=auth).json is not None, "youtube: malformed times=2 ends")
    for method, verb, target, kwargs in (
            ("liveChatMessages.delete", "DELETE", delete_path, {"query": {"id": sent[0]["id"]}}),
            ("liveChatBans.insert", "POST", "/google/youtube/v3/liveChat/bans",
             {"query": {"part": "snippet"}, "json_body": ban_body}),
            ("liveBroadcasts.list", "GET", broadcasts, {"query": {"part": "snippet", "id": "vid1"}}),
            ("videos.list", "GET", "/google/youtube/v3/videos", {"query": {"part": "snippet", "id": "vid1"}})):
        fault("youtube", method, "quotaExceeded")
        answer = call(verb, target, headers=auth, **kwargs)
        check(answer.status == 403 and error_reason(answer) == "quotaExceeded", "youtube fault on %s" % method, answer)
    fault("youtube", "token", "unauthorized")
    answer = call("POST", "/google-oauth/token", form=token_form)
    check(answer.status == 400 and answer.json == fx("youtube", "oauth_error_invalid_grant"),
          "oauth fault unauthorized -> invalid_grant", answer)

    # A revoked refresh token: the exchange answers invalid_grant, its access tokens 401.
    control("revoke", {"platform": "youtube", "token": token_form["refresh_token"]})
    answer = call("GET", path, list_query, headers=auth)
    check(answer.status == 401 and error_reason(answer) == "authError", "youtube: revoked -> 401 authError", answer)
    answer = call("POST", "/google-oauth/token", form=token_form)
    check(answer.status == 400 and answer.json.get("error") == "invalid_grant", "oauth: revoked -> invalid_grant",
          answer)
    other = call("POST", "/google-oauth/token", form=dict(token_form, refresh_token="1//other")).json["access_token"]
    auth = {"Authorization": "Bearer " + other}

    # A completed broadcast's chat has ended.
    control("youtube/broadcasts", {"id": "vid1", "live_chat_id": "chat1", "status": "completed"})
    answer = call("GET", path, list_query, headers=auth)
    check(answer.status == 403 and error_reason(answer) == "liveChatEnded", "youtube: ended chat -> 403", answer)
    answer = call("GET", "/google/youtube/v3/videos", {"part": "liveStreamingDetails", "id": "vid1"}, headers=auth)
    check("activeLiveChatId" not in answer.json["items"][0]["liveStreamingDetails"]
          and "actualEndTime" in answer.json["items"][0]["liveStreamingDetails"], "youtube: ended video", answer)
    return [m["id"] for m in sent]


TG_TOKEN = "123456:ABC-fake_bot-token"
TG_CHAT = -1001000000001


def telegram():
    base = "/telegram/bot%s/" % TG_TOKEN
    answer = call("GET", base + "getMe")
    check(answer.status == 200 and answer.json["ok"] is True and answer.json["result"]["id"] == 123456
          and answer.json["result"]["is_bot"] is True, "telegram: getMe", answer)
    answer = call("POST", base + "GETME")
    check(answer.status == 200 and answer.json["ok"] is True, "telegram: method names are case-insensitive", answer)
    answer = call("GET", "/telegram/botnot-a-token/getMe")
    check(answer.status == 404 and answer.json == {"ok": False, "error_code": 404, "description": "Not Found"},
          "telegram: malformed token -> 404", answer)
    answer = call("GET", base + "sendSticker")
    check(answer.status == 404, "telegram: unknown method -> 404", answer)
    answer = call("POST", base + "getUpdates", json_body={"timeout": 0})
    check(answer.status == 200 and answer.json == {"ok": True, "result": []}, "telegram: nothing yet", answer)

    # A long poll woken by a queued message.
    template = fx("telegram", "message")
    poll = {}

    def long_poll():
        started = time.monotonic()
        poll["answer"] = call("POST", base + "getUpdates", json_body=fx("telegram", "getUpdates.request"))
        poll["took"] = time.monotonic() - started

    thread = threading.Thread(target=long_poll)
    thread.start()
    time.sleep(0.5)
    message = {k: v for k, v in template.items() if k not in ("message_id", "date")}
    queued = control("telegram/messages", {"bot_token": TG_TOKEN, "message": message})
    thread.join(10)
    check(isinstance(queued.get("update_id"), int) and isinstance(queued["message"].get("message_id"), int)
          and isinstance(queued["message"].get("date"), int), "telegram control: ids and date assigned", queued)
    answer = poll.get("answer")
    check(answer is not None and answer.status == 200 and answer.json["result"] == [queued],
          "telegram: the long poll returns the queued update", answer)
    check(poll.get("took", 99) < 2.5, "telegram: the long poll woke at once", poll.get("took"))

    # Confirming with offset drops it; the query string and form bodies work too.
    update_id = queued["update_id"]
    answer = call("GET", base + "getUpdates", {"offset": update_id, "timeout": 0})
    check(answer.status == 200 and len(answer.json["result"]) == 1, "telegram: offset = id still returns it", answer)
    second = control("telegram/messages", {"bot_token": TG_TOKEN, "message": dict(message, text="second")})
    started = time.monotonic()
    answer = call("POST", base + "getUpdates", form={"offset": update_id + 1, "timeout": 1})
    check(answer.status == 200 and answer.json["result"] == [second] and time.monotonic() - started < 0.9,
          "telegram: offset confirms the older update (form body)", answer)
    started = time.monotonic()
    answer = call("GET", base + "getUpdates", {"offset": second["update_id"] + 1, "timeout": 1})
    took = time.monotonic() - started
    check(answer.status == 200 and answer.json["result"] == [] and 0.9 < took < 2.5,
          "telegram: an empty long poll waits `timeout`", (answer, took))
    post = control("telegram/messages", {"bot_token": TG_TOKEN, "update_type": "channel_post",
                                         "message": {"message_id": 500, "chat": {"id": -1001000000000,
                                                                                "type": "channel"},
                                                     "text": "a post"}})
    answer = call("GET", base + "getUpdates", {"allowed_updates": json.dumps(["message"]), "timeout": 0})
    check(answer.json["result"] == [], "telegram: allowed_updates filters", answer)
    answer = call("GET", base + "getUpdates", {"allowed_updates": "[]", "timeout": 0})
    check(answer.json["result"] == [post], "telegram: channel_post served with the default types", answer)
    call("GET", base + "getUpdates", {"offset": -1, "timeout": 0})

    # deleteMessage and banChatMember.
    mid = queued["message"]["message_id"]
    answer = call("POST", base + "deleteMessage", json_body={"chat_id": TG_CHAT, "message_id": mid})
    check(answer.status == 200 and answer.json == {"ok": True, "result": True}, "telegram: deleteMessage", answer)
    answer = call("GET", base + "deleteMessage", {"chat_id": str(TG_CHAT), "message_id": mid})
    check(answer.status == 400 and answer.json["description"] == "Bad Request: message to delete not found",
          "telegram: deleting twice -> 400", answer)
    ban = fx("telegram", "banChatMember.request")
    answer = call("POST", base + "banChatMember", form=ban)
    check(answer.status == 200 and answer.json["result"] is True, "telegram: banChatMember (form)", answer)
    state = control("state")["telegram"]
    check(state == {"deleted": [[TG_CHAT, mid]], "bans": [
        {"chat_id": TG_CHAT, "user_id": ban["user_id"], "until_date": ban["until_date"]}]}, "telegram: state", state)
    fx("telegram", "deleteMessage.request")

    # Faults.
    fault("telegram", "getUpdates", "telegram_429", retry_after=7)
    answer = call("GET", base + "getUpdates")
    check(answer.status == 429 and answer.json == {"ok": False, "error_code": 429,
                                                   "description": "Too Many Requests: retry after 7",
                                                   "parameters": {"retry_after": 7}}, "telegram fault 429", answer)
    fault("telegram", "getupdates", "unauthorized")
    answer = call("GET", base + "getUpdates")
    check(answer.status == 401 and answer.json == {"ok": False, "error_code": 401, "description": "Unauthorized"},
          "telegram fault unauthorized", answer)
    fault("telegram", "deleteMessage", "http_500")
    answer = call("POST", base + "deleteMessage", json_body={"chat_id": TG_CHAT, "message_id": 1})
    check(answer.status == 500 and answer.json["error_code"] == 500, "telegram fault http_500", answer)
    fault("telegram", "banChatMember", "malformed")
    answer = call("POST", base + "banChatMember", json_body=ban)
    check(answer.status == 200 and answer.json is None, "telegram fault malformed", answer)
    fault("telegram", "getMe", "rateLimitExceeded")
    check(call("GET", base + "getMe").status == 429, "telegram fault rateLimitExceeded -> 429")
    fault("telegram", "getMe", "quotaExceeded")
    check(call("GET", base + "getMe").status == 429, "telegram fault quotaExceeded -> 429")

    control("revoke", {"platform": "telegram", "token": TG_TOKEN})
    answer = call("GET", base + "getUpdates")
    check(answer.status == 401 and answer.json["description"] == "Unauthorized", "telegram: revoked -> 401", answer)
    return ["%d:%d" % (TG_CHAT, mid), "%d:%d" % (TG_CHAT, second["message"]["message_id"]),
            "-1001000000000:500"]


VK_TOKEN = "vk1.a.fake-community-token"


def vk_method(name, **params):
    return call("GET", "/vk/method/" + name, dict({"access_token": VK_TOKEN, "v": "5.199"}, **params))


def vk():
    answer = vk_method("groups.getLongPollServer", group_id=77)
    body = (answer.json or {}).get("response", {})
    check(answer.status == 200 and set(body) == {"key", "server", "ts"} and isinstance(body.get("ts"), str)
          and body.get("server") == BASE + "/vk/longpoll/77", "vk: getLongPollServer", answer)
    server, key, ts = body["server"], body["key"], body["ts"]

    def a_check(key, ts, wait=0):
        return call("GET", None, {"act": "a_check", "key": key, "ts": ts, "wait": wait}, url=server)

    answer = a_check(key, ts)
    check(answer.status == 200 and answer.json == {"ts": ts, "updates": []}, "vk: a_check with nothing new", answer)

    poll = {}

    def long_poll():
        started = time.monotonic()
        poll["answer"] = a_check(key, ts, wait=10)
        poll["took"] = time.monotonic() - started

    thread = threading.Thread(target=long_poll)
    thread.start()
    time.sleep(0.5)
    event = control("vk/events", {"group_id": 77, "type": "video_comment_new",
                                  "object": {"from_id": 1001, "text": "a video comment", "video_id": 456239017}})
    thread.join(10)
    check(event["type"] == "video_comment_new" and event["group_id"] == 77 and event["v"] == "5.199"
          and re.fullmatch(r"[0-9a-f]{40}", event["event_id"]) and event["object"]["video_owner_id"] == -77
          and event["object"]["from_id"] == 1001 and isinstance(event["object"]["id"], int),
          "vk control: the event", event)
    answer = poll.get("answer")
    check(answer is not None and answer.json["updates"] == [event] and isinstance(answer.json["ts"], str)
          and int(answer.json["ts"]) > int(ts), "vk: a_check returns the event", answer)
    check(poll.get("took", 99) < 2.5, "vk: the long poll woke at once", poll.get("took"))
    ts = answer.json["ts"]
    reply = control("vk/events", {"group_id": 77, "type": "wall_reply_new",
                                  "object": {"from_id": 1002, "text": "a wall reply", "post_id": 12}})
    answer = a_check(key, ts)
    check(answer.json["updates"] == [reply] and reply["object"]["post_owner_id"] == -77
          and reply["object"]["post_id"] == 12, "vk: wall_reply_new", answer)
    ts = answer.json["ts"]

    # Moderation.
    video_comment = event["object"]["id"]
    answer = vk_method("video.deleteComment", owner_id=-77, comment_id=video_comment)
    check(answer.json == {"response": 1}, "vk: video.deleteComment", answer)
    answer = vk_method("video.deleteComment", owner_id=-77, comment_id=video_comment)
    check(answer.status == 200 and answer.json["error"]["error_code"] == 100, "vk: deleting twice -> error 100", answer)
    answer = call("POST", "/vk/method/wall.deleteComment",
                  form={"access_token": VK_TOKEN, "v": "5.199", "owner_id": -77, "comment_id": reply["object"]["id"]})
    check(answer.json == {"response": 1}, "vk: wall.deleteComment (form)", answer)
    answer = call("POST", "/vk/method/groups.ban", form=fx("vk", "groups.ban.request"))
    check(answer.json == {"response": 1}, "vk: groups.ban", answer)
    state = control("state")["vk"]
    check(state == {"deleted": [
        {"method": "video.deleteComment", "owner_id": -77, "comment_id": video_comment},
        {"method": "wall.deleteComment", "owner_id": -77, "comment_id": reply["object"]["id"]}],
        "bans": [{"group_id": 77, "owner_id": 1001, "end_date": 1717239600, "reason": 0,
                  "comment": "Kezdesu moderation", "comment_visible": 1}]}, "vk: state", state)
    control("vk/users", {"id": 1001, "first_name": "Asel", "last_name": "N.", "photo_100": "https://vk.com/p.jpg"})
    answer = vk_method("users.get", user_ids="1001,1003", fields="photo_100")
    check(answer.json == {"response": [
        {"id": 1001, "first_name": "Asel", "last_name": "N.", "can_access_closed": True, "is_closed": False,
         "photo_100": "https://vk.com/p.jpg"},
        {"id": 1003, "first_name": "DELETED", "last_name": "", "deactivated": "deleted"}]}, "vk: users.get", answer)

    # Errors and faults.
    answer = call("GET", "/vk/method/users.get", {"v": "5.199", "user_ids": "1"})
    check(answer.json["error"]["error_code"] == 5, "vk: no access_token -> error 5", answer)
    fault("vk", "users.get", "vk_error_6")
    answer = vk_method("users.get", user_ids="1")
    err = (answer.json or {}).get("error", {})
    check(answer.status == 200 and err.get("error_code") == 6 and err.get("error_msg") == "Too many requests per second"
          and {"key": "method", "value": "users.get"} in err.get("request_params", [])
          and not any(p["key"] == "access_token" for p in err.get("request_params", [])),
          "vk fault vk_error_6", answer)
    for method, kind, code in (("groups.getLongPollServer", "unauthorized", 5), ("groups.ban", "quotaExceeded", 29),
                               ("wall.deleteComment", "rateLimitExceeded", 6)):
        fault("vk", method, kind)
        answer = vk_method(method, group_id=77, owner_id=1, comment_id=1)
        check(answer.json["error"]["error_code"] == code, "vk fault %s on %s" % (kind, method), answer)
    fault("vk", "video.deleteComment", "http_500")
    check(vk_method("video.deleteComment", owner_id=-77, comment_id=1).status == 500, "vk fault http_500")
    fault("vk", "a_check", "http_500")
    check(a_check(key, ts).status == 500, "vk fault http_500 on a_check")
    fault("vk", "a_check", "malformed")
    answer = a_check(key, ts)
    check(answer.status == 200 and answer.json is None and answer.body.startswith(b"<html>"),
          "vk fault malformed (an HTML page)", answer)
    fault("vk", "a_check", "vk_failed_1")
    answer = a_check(key, ts)
    check(answer.json == {"failed": 1, "ts": int(ts)}, "vk fault vk_failed_1", answer)
    check(a_check(key, ts).json == {"ts": ts, "updates": []}, "vk: after failed 1 the same key works")
    # failed 2: the key is stale until a new one is fetched.
    fault("vk", "a_check", "vk_failed_2")
    check(a_check(key, ts).json == {"failed": 2}, "vk fault vk_failed_2")
    check(a_check(key, ts).json == {"failed": 2}, "vk: the old key stays stale after failed 2")
    fresh = vk_method("groups.getLongPollServer", group_id=77).json["response"]
    check(fresh["key"] != key and a_check(fresh["key"], ts).json == {"ts": ts, "updates": []},
          "vk: a fresh key works after failed 2")
    fault("vk", "a_check", "vk_failed_3")
    check(a_check(fresh["key"], ts).json == {"failed": 3}, "vk fault vk_failed_3")
    check(a_check(fresh["key"], ts).json == {"failed": 2}, "vk: after failed 3 the key is stale too")
    check(a_check("nonsense", ts).json == {"failed": 2}, "vk: an unknown key -> failed 2")
    newest = vk_method("groups.getLongPollServer", group_id=77).json["response"]
    check(a_check(newest["key"], str(int(newest["ts"]) + 1000)).json == {"failed": 1, "ts": int(newest["ts"])},
          "vk: a ts from the future -> failed 1 with the current ts")

    control("revoke", {"platform": "vk", "token": VK_TOKEN})
    answer = vk_method("groups.getLongPollServer", group_id=77)
    check(answer.json["error"]["error_code"] == 5, "vk: revoked token -> error 5", answer)
    return ["-77_%d" % video_comment, "-77_%d" % reply["object"]["id"]]


FB_TOKEN = "EAAfake-page-access-token"


def facebook():
    comments_path = "/facebook/v19.0/lv1/comments"
    answer = call("GET", comments_path)
    check(answer.status == 400 and answer.json["error"]["code"] == 104
          and answer.json["error"]["type"] == "OAuthException", "facebook: no token -> 400 code 104", answer)
    answer = call("GET", comments_path, {"access_token": FB_TOKEN})
    check(answer.status == 200 and answer.json == {"data": []}, "facebook: no comments yet", answer)
    sent = [control("facebook/comments", {"live_video_id": "lv1", "from": {"id": "55%d" % i, "name": "Person %d" % i},
                                          "message": "comment %d" % i}) for i in range(3)]
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000", sent[0]["created_time"]) and sent[0]["id"],
          "facebook control: the comment", sent[0])
    query = {"access_token": FB_TOKEN, "order": "chronological", "limit": 2,
             "fields": "id,message,created_time,from{id,name},permalink_url"}
    answer = call("GET", comments_path, query)
    body = answer.json or {}
    check(answer.status == 200 and [c["id"] for c in body.get("data", [])] == [c["id"] for c in sent[:2]]
          and set(body["data"][0]) == {"id", "message", "created_time", "from", "permalink_url"}
          and body["data"][0]["from"] == {"id": "550", "name": "Person 0"}
          and set(body.get("paging", {}).get("cursors", {})) == {"before", "after"} and body["paging"].get("next"),
          "facebook: first page with paging.next", answer)
    next_url = body.get("paging", {}).get("next")
    answer = call("GET", None, url=next_url) if next_url else None
    check(answer is not None and [c["id"] for c in answer.json["data"]] == [sent[2]["id"]]
          and "next" not in answer.json["paging"], "facebook: paging.next leads on; no next on the last page", answer)
    after = answer.json["paging"]["cursors"]["after"] if answer else ""
    answer = call("GET", comments_path, dict(query, after=after))
    check(answer.json == {"data": []}, "facebook: nothing after the last cursor", answer)
    answer = call("GET", "/facebook/v19.0/lv1/comments", {"access_token": FB_TOKEN})
    check(set(answer.json["data"][0]) == {"id", "message", "created_time", "from"}, "facebook: default fields",
          answer)
    answer = call("GET", comments_path, {"access_token": FB_TOKEN, "order": "reverse_chronological", "limit": 1})
    check([c["id"] for c in answer.json["data"]] == [sent[2]["id"]] and answer.json["paging"].get("next"),
          "facebook: reverse_chronological", answer)

    hide = fx("facebook", "hide.request")
    answer = call("POST", "/facebook/v19.0/" + sent[1]["id"], form=hide)
    check(answer.status == 200 and answer.json == {"success": True}, "facebook: hide", answer)
    answer = call("POST", "/facebook/v19.0/nope_1", form=hide)
    check(answer.status == 400 and answer.json["error"]["code"] == 100 and answer.json["error"]["error_subcode"] == 33,
          "facebook: hiding an unknown comment -> 400 code 100/33", answer)
    check(control("state")["facebook"] == {"hidden": [sent[1]["id"]]}, "facebook: state")
    control("facebook/live_videos", {"id": "lv-gone", "gone": True})
    answer = call("GET", "/facebook/v19.0/lv-gone/comments", {"access_token": FB_TOKEN})
    check(answer.status == 400 and answer.json["error"]["error_subcode"] == 33, "facebook: a gone video", answer)

    for kind, status, code in (("quotaExceeded", 403, 4), ("rateLimitExceeded", 403, 32), ("unauthorized", 400, 190),
                               ("http_500", 500, 2)):
        fault("facebook", "comments", kind)
        answer = call("GET", comments_path, {"access_token": FB_TOKEN})
        check(answer.status == status and answer.json["error"]["code"] == code, "facebook fault %s" % kind, answer)
    fault("facebook", "hide", "malformed")
    answer = call("POST", "/facebook/v19.0/" + sent[0]["id"], form=hide)
    check(answer.status == 200 and answer.json is None, "facebook fault malformed", answer)

    control("revoke", {"platform": "facebook", "token": FB_TOKEN})
    answer = call("GET", comments_path, {"access_token": FB_TOKEN})
    err = (answer.json or {}).get("error", {})
    check(answer.status == 400 and err.get("code") == 190 and err.get("error_subcode") == 460
          and err.get("type") == "OAuthException" and err.get("fbtrace_id")
          and err.get("message", "").startswith("Error validating access token: The session has been invalidated"),
          "facebook: revoked -> 400 code 190/460", answer)
    return [c["id"] for c in sent]


def logs(served_ids, started_ms):
    calls = control("calls")
    check(all(set(c) == {"platform", "method", "at_ms", "status", "params"} for c in calls), "calls: entry shape")
    check([c["at_ms"] for c in calls] == sorted(c["at_ms"] for c in calls), "calls: in order")
    dump = json.dumps(calls)
    for secret in (TG_TOKEN, VK_TOKEN, FB_TOKEN, "GOCSPX-fake-client-secret", "1//0fake-refresh-token",
                   "EAAfake-page-access-token"):
        check(secret not in dump, "calls: %s... is masked" % secret[:8])
    youtube_calls = control("calls?platform=youtube")
    check(youtube_calls and all(c["platform"] == "youtube" for c in youtube_calls), "calls: ?platform=")
    tokens = [c for c in youtube_calls if c["method"] == "token"]
    check(tokens and tokens[0]["params"]["refresh_token"] == "***" and tokens[0]["params"]["client_secret"] == "***"
          and tokens[0]["params"]["grant_type"] == "refresh_token" and tokens[0]["status"] == 200,
          "calls: the token exchange, masked", tokens[:1])
    lists = [c for c in youtube_calls if c["method"] == "liveChatMessages.list"]
    check(any(c["status"] == 403 for c in lists) and any(c["status"] == 200 for c in lists)
          and any("pageToken" in c["params"] and c["params"]["pageToken"] != "***" for c in lists),
          "calls: liveChatMessages.list statuses and params")
    vk_calls = control("calls?platform=vk")
    check(any(c["method"] == "a_check" and c["params"].get("key") == "***" for c in vk_calls)
          and all(c["params"].get("access_token") in (None, "***") for c in vk_calls), "calls: vk keys masked")
    check({c["method"] for c in control("calls?platform=telegram")} >= {"getUpdates", "deleteMessage",
                                                                          "banChatMember", "getMe"},
          "calls: telegram methods")

    served = control("served")
    now = int(time.time() * 1000)
    for key in served_ids:
        check(isinstance(served.get(key), int) and started_ms <= served[key] <= now, "served: %s" % key,
              served.get(key))
    check(not [k for k in served if k.split(":")[0] not in ("youtube", "telegram", "vk", "facebook")],
          "served: keys are <platform>:<id>", list(served)[:5])


def control_api():
    for body in ({"platform": "vk", "method": "users.get", "fault": "vk_failed_2"},
                 {"platform": "youtube", "method": "nope", "fault": "malformed"},
                 {"platform": "youtube", "method": "token", "fault": "telegram_429"},
                 {"platform": "vk", "method": "a_check", "fault": "unauthorized"},
                 {"platform": "twitter", "method": "x", "fault": "malformed"}):
        answer = call("POST", "/_control/faults", json_body=body)
        check(answer.status == 400 and "error" in answer.json, "control: refuses fault %s" % body, answer)
    control("faults", {"platform": "facebook", "method": "comments", "fault": "http_500", "times": None})
    for _ in range(3):
        check(call("GET", "/facebook/v19.0/x/comments", {"access_token": "t"}).status == 500,
              "control: times null applies until cleared")
    check(len(control("faults")) == 1, "control: GET faults lists it")
    control("faults/clear", {})
    check(call("GET", "/facebook/v19.0/x/comments", {"access_token": "t"}).status == 200, "control: faults/clear")
    answer = call("POST", "/_control/youtube/messages", json_body={"live_chat_id": "c"})
    check(answer.status == 400, "control: a message without its fields -> 400", answer)
    request = urllib.request.Request(BASE + "/_control/youtube/polling_interval_ms", data=b'{"ms": 500}',
                                     method="POST")  # urllib says form-urlencoded, as curl -d does
    with urllib.request.urlopen(request, timeout=5) as response:
        check(json.loads(response.read()) == {"ms": 500}, "control: JSON whatever the Content-Type")
    answer = call("POST", "/_control/nothing", json_body={})
    check(answer.status == 404, "control: unknown path -> 404", answer)
    control("reset", {})
    state = control("state")
    check(state == {"youtube": {"deleted": [], "bans": []}, "telegram": {"deleted": [], "bans": []},
                    "vk": {"deleted": [], "bans": []}, "facebook": {"hidden": []}}, "control: reset state", state)
    check(control("calls") == [] and control("served") == {}, "control: reset forgets calls and served")


def main():
    global BASE
    check_fixtures()
    port = free_port()
    process = subprocess.Popen([sys.executable, os.path.join(HERE, "fake.py"), "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    BASE = "http://127.0.0.1:%d" % port
    try:
        for _ in range(50):
            try:
                call("GET", "/_control/state", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit("the fake did not start: %s" % process.stdout.read1(4096).decode(errors="replace"))
        started_ms = int(time.time() * 1000)
        served = ["youtube:" + i for i in youtube()]
        served += ["telegram:" + i for i in telegram()]
        served += ["vk:" + i for i in vk()]
        served += ["facebook:" + i for i in facebook()]
        logs(served, started_ms)
        control_api()
    finally:
        process.terminate()
        try:
            output = process.communicate(timeout=5)[0].decode(errors="replace")
        except subprocess.TimeoutExpired:
            process.kill()
            output = process.communicate()[0].decode(errors="replace")
    lines = [l for l in output.splitlines() if l and not l.startswith("platforms fake listening")]
    check(not lines, "the fake logged nothing per request and no traceback", "\n".join(lines[:20]))
    if failures:
        print("\n%d of %d checks failed:" % (len(failures), checks), file=sys.stderr)
        for f in failures:
            print("  - " + f, file=sys.stderr)
        sys.exit(1)
    print("platforms fake self-test: %d checks passed" % checks)


if __name__ == "__main__":
    main()
