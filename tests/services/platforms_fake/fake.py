#!/usr/bin/env python3
"""Fakes of the four platforms' comment APIs, for Kezdesu's tests (docs/platforms-contract.md, section 1).

    python3 tests/services/platforms_fake/fake.py --port PORT [--host 127.0.0.1] [--verbose]

One process, Python 3 standard library only. Routes by the first path segment:

    /google/youtube/v3/...   YouTube Data API v3 (liveChat/messages GET and DELETE, liveChat/bans POST,
                             liveBroadcasts GET, videos GET)
    /google-oauth/token      Google OAuth 2.0 token endpoint, refresh_token grant
    /telegram/bot<token>/<method>   Telegram Bot API (getUpdates long poll, deleteMessage,
                             banChatMember, getMe; query string, JSON, form or multipart bodies)
    /vk/method/<name>        VK API 5.199 (groups.getLongPollServer, video.deleteComment,
                             wall.deleteComment, groups.ban, users.get)
    /vk/longpoll/<group id>  the Bots Long Poll server (?act=a_check&key=&ts=&wait=)
    /facebook/[vXX.X/]<id>/comments (GET), /facebook/[vXX.X/]<comment id> (POST is_hidden)
    /_control/...            the tests' control API (see the contract, and `control` below)

Every answer is built from a fixture in fixtures/<platform>/*.json: the JSON is loaded, the
placeholders in it ("{{name}}" for a value, "{{name?}}" for a key left out when the value is
absent) are filled in, and the result is served. Each folder's NOTES.md names the documentation
page every fixture follows.

Ids, update ids, VK event numbers and paging cursors come from counters that a reset does not
rewind, so a cursor the product kept from before a reset never skips what comes after it.
"""

import argparse
import base64
import bisect
import datetime
import hashlib
import json
import os
import re
import secrets
import sys
import threading
import time
import traceback
import urllib.parse
from email.parser import BytesParser
from email.policy import HTTP as HTTP_POLICY
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES_DIR = os.path.join(HERE, "fixtures")
PLATFORMS = ("youtube", "telegram", "vk", "facebook")

TELEGRAM_POLL_CAP = 30  # seconds a getUpdates may wait, whatever `timeout` asks
VK_POLL_CAP = 25  # seconds an a_check may wait, whatever `wait` asks
YT_ACCESS_TTL = 3599  # seconds, as Google's token endpoint says in expires_in
VK_VERSION = "5.199"

# --------------------------------------------------------------------------------------------
# Fixtures


def load_fixtures():
    fixtures = {}
    for platform in PLATFORMS:
        folder = os.path.join(FIXTURES_DIR, platform)
        for name in sorted(os.listdir(folder)):
            if name.endswith(".json"):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    fixtures[platform + "/" + name[: -len(".json")]] = json.load(f)
    return fixtures


FIXTURES = load_fixtures()
_PLACEHOLDER = re.compile(r"\{\{(\w+)(\?)?\}\}")
_OMIT = object()


def _fill(template, values):
    if isinstance(template, dict):
        out = {}
        for key, value in template.items():
            m = _PLACEHOLDER.fullmatch(key)
            if m:
                key = str(values[m.group(1)])
            filled = _fill(value, values)
            if filled is not _OMIT:
                out[key] = filled
        return out
    if isinstance(template, list):
        return [x for x in (_fill(v, values) for v in template) if x is not _OMIT]
    if isinstance(template, str):
        m = _PLACEHOLDER.fullmatch(template)
        if m:
            name, optional = m.group(1), m.group(2)
            value = values.get(name)
            if value is None:
                if optional:
                    return _OMIT
                raise KeyError("fixture placeholder {{%s}} has no value" % name)
            return value
        return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), template)
    return template


def fixture(name, **values):
    """The fixture `name` ("platform/file") with its placeholders filled in."""
    return _fill(FIXTURES[name], values)


# --------------------------------------------------------------------------------------------
# Small helpers


def now_ms():
    return int(time.time() * 1000)


def rfc3339_micro(t):
    """YouTube's liveChatMessage publishedAt, e.g. 2024-06-01T10:00:00.123456+00:00."""
    return datetime.datetime.fromtimestamp(t, tz=datetime.timezone.utc).isoformat(timespec="microseconds")


def rfc3339_seconds(t):
    return datetime.datetime.fromtimestamp(t, tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def graph_time(t):
    """The Graph API's created_time, e.g. 2018-08-30T18:47:02+0000."""
    return datetime.datetime.fromtimestamp(t, tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+0000")


def etag(*parts):
    digest = hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:27]


def opaque(prefix, n):
    return base64.urlsafe_b64encode(("%s:%d" % (prefix, n)).encode()).decode().rstrip("=")


def unopaque(prefix, token):
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        head, _, number = raw.partition(":")
        if head != prefix:
            return None
        return int(number)
    except (ValueError, UnicodeDecodeError):
        return None


def fbtrace():
    return base64.urlsafe_b64encode(secrets.token_bytes(8)).decode().rstrip("=")


def as_int(value):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def as_bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        v = value.strip().lower()
        if v in ("true", "1"):
            return True
        if v in ("false", "0"):
            return False
    return None


def chat_key(value):
    """A Telegram chat_id as the fake keeps it: an int when numeric, else the @username."""
    n = as_int(value)
    return n if n is not None else value


_SECRET_NAME = re.compile(r"(^|_)(token|secret|key|password|authorization)$", re.IGNORECASE)


def mask(value, name=""):
    """The call log's copy of request parameters: credential values replaced by ***."""
    if name and _SECRET_NAME.search(name) and value not in (None, ""):
        return "***"
    if isinstance(value, dict):
        return {k: mask(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    return value


class Resp:
    __slots__ = ("status", "body", "ctype", "headers")

    def __init__(self, status, body=b"", ctype="application/json; charset=UTF-8", headers=None):
        self.status = status
        self.body = body
        self.ctype = ctype
        self.headers = headers or {}


def json_resp(status, obj, headers=None, ctype="application/json; charset=UTF-8"):
    return Resp(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"), ctype, headers)


def fixture_resp(status, name, headers=None, **values):
    return json_resp(status, fixture(name, **values), headers)


def raw_fixture_resp(name):
    """A fixture that is not JSON on the wire (malformed answers): status, content_type, body."""
    fx = FIXTURES[name]
    return Resp(fx["status"], fx["body"].encode("utf-8"), fx["content_type"])


def text_resp(status, text):
    return Resp(status, text.encode("utf-8"), "text/plain; charset=utf-8")


class BadControl(Exception):
    pass


# --------------------------------------------------------------------------------------------
# Requests


class Req:
    """One HTTP request: path, query, body and the merged parameters (query, then body)."""

    def __init__(self, handler, verb):
        self.verb = verb
        split = urllib.parse.urlsplit(handler.path)
        self.path = split.path
        self.raw_query = split.query
        self.headers = handler.headers
        self.host = handler.headers.get("Host") or "%s:%d" % handler.server.server_address[:2]
        self.body = self._read_body(handler)
        self.ctype = (handler.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        self.json = None
        self.body_error = None
        self.params = {}
        self._add_pairs(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
        if self.body:
            self._parse_body(handler)

    @staticmethod
    def _read_body(handler):
        if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                line = handler.rfile.readline()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(handler.rfile.read(size))
                handler.rfile.readline()
            return b"".join(chunks)
        length = int(handler.headers.get("Content-Length") or 0)
        return handler.rfile.read(length) if length > 0 else b""

    def _add_pairs(self, pairs):
        seen = {}
        for key, value in pairs:
            seen.setdefault(key, []).append(value)
        for key, values in seen.items():
            self.params[key] = values[0] if len(values) == 1 else values

    def _parse_body(self, handler):
        ctype = self.ctype
        text = None
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError:
            self.body_error = "the body is not UTF-8"
            return
        if ctype == "application/x-www-form-urlencoded":
            self._add_pairs(urllib.parse.parse_qsl(text, keep_blank_values=True))
        elif ctype == "multipart/form-data":
            raw = b"Content-Type: " + handler.headers.get("Content-Type", "").encode() + b"\r\n\r\n" + self.body
            message = BytesParser(policy=HTTP_POLICY).parsebytes(raw)
            pairs = []
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if name:
                    pairs.append((name, part.get_content() if part.get_content_maintype() == "text"
                                  else part.get_payload(decode=True).decode("utf-8", "replace")))
            self._add_pairs(pairs)
        else:
            try:
                self.json = json.loads(text)
            except ValueError:
                if ctype in ("application/json", ""):
                    self.body_error = "the body is not JSON"
                return
            if isinstance(self.json, dict):
                self.params.update(self.json)

    def p(self, name):
        """A parameter as a string (the last one when repeated), or None."""
        value = self.params.get(name)
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            value = value[-1]
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float, str)):
            return str(value)
        return json.dumps(value)

    def bearer(self):
        header = self.headers.get("Authorization") or ""
        m = re.match(r"(?:Bearer|OAuth)\s+(\S+)\s*$", header, re.IGNORECASE)
        return m.group(1) if m else None


# --------------------------------------------------------------------------------------------
# The fake

FAULTS = ("quotaExceeded", "rateLimitExceeded", "unauthorized", "malformed", "http_500",
          "telegram_429", "vk_failed_1", "vk_failed_2", "vk_failed_3", "vk_error_6")
METHODS = {
    "youtube": ("liveChatMessages.list", "liveChatMessages.delete", "liveChatBans.insert",
                "liveBroadcasts.list", "videos.list", "token"),
    "telegram": ("getUpdates", "deleteMessage", "banChatMember", "getMe"),
    "vk": ("groups.getLongPollServer", "a_check", "video.deleteComment", "wall.deleteComment",
           "groups.ban", "users.get"),
    "facebook": ("comments", "hide"),
}
TELEGRAM_METHODS = {m.lower(): m for m in METHODS["telegram"]}
TELEGRAM_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
GRAPH_VERSION = re.compile(r"^v\d+\.\d+$")
FB_DEFAULT_FIELDS = ("created_time", "from", "message", "id")


def fault_applies(platform, method, fault):
    """None when `fault` makes sense for that method, else why not."""
    if fault == "telegram_429" and platform != "telegram":
        return "telegram_429 is a Telegram fault"
    if fault.startswith("vk_failed_") and (platform, method) != ("vk", "a_check"):
        return "%s is an answer of the VK long-poll server (method a_check)" % fault
    if fault == "vk_error_6" and (platform != "vk" or method == "a_check"):
        return "vk_error_6 is a VK API method error (not of a_check)"
    if (platform, method) == ("vk", "a_check") and fault not in (
            "vk_failed_1", "vk_failed_2", "vk_failed_3", "malformed", "http_500"):
        return "the long-poll server only answers failed 1/2/3, malformed or http_500"
    return None


class Fake:
    def __init__(self):
        self.cond = threading.Condition(threading.Lock())
        # Counters that survive a reset (see the module's doc string).
        self.seq = 0  # YouTube messages, Facebook comments, bans: ordering and ids
        self.tg_next_update = 100000
        self.tg_next_message = {}  # chat -> next message_id
        self.vk_event_num = 10  # a ts of "0" could pass for "no ts" in a careless client
        self.vk_next_comment = 1000
        with self.cond:
            self._reset()

    def _next_seq(self):
        self.seq += 1
        return self.seq

    def _reset(self):
        self.calls = []
        self.served = {}
        self.faults = []
        self.revoked = {p: set() for p in PLATFORMS}
        # YouTube
        self.yt_interval = 500
        self.yt_broadcasts = {}  # id -> {"id", "live_chat_id", "status", "title", "started", "ended"}
        self.yt_chats = {}  # live chat id -> {"seqs": [], "messages": [], "ended": bool}
        self.yt_messages = {}  # message id -> resource
        self.yt_deleted = []
        self.yt_deleted_set = set()
        self.yt_bans = []
        self.yt_access = {}  # access token -> {"refresh", "expires"}
        # Telegram
        self.tg_bots = {}  # bot token -> {"updates": [], "allowed": None}
        self.tg_known = set()  # (chat, message_id)
        self.tg_deleted = []
        self.tg_bans = []
        # VK
        self.vk_groups = {}  # group id -> {"nums": [], "events": [], "keys": set()}
        self.vk_comments = {}  # ("video"|"wall", owner, id) -> object
        self.vk_deleted_set = set()
        self.vk_deleted = []
        self.vk_bans = []
        self.vk_users = {}
        # Facebook
        self.fb_videos = {}  # live video id -> {"seqs": [], "comments": [], "gone": bool}
        self.fb_comments = {}  # comment id -> comment (with "_video")
        self.fb_hidden = []
        self.cond.notify_all()

    # ---- plumbing -------------------------------------------------------------------------

    def handle(self, handler, verb):
        req = Req(handler, verb)
        segments = req.path.split("/")[1:]
        first = segments[0] if segments else ""
        rest = [s for s in segments[1:] if s]  # a base URL with a trailing slash gives "//"
        if first == "_control":
            try:
                return self.control(req, rest)
            except BadControl as e:
                return json_resp(400, {"error": str(e)})
        routers = {"google": self.route_youtube, "google-oauth": self.route_oauth,
                   "telegram": self.route_telegram, "vk": self.route_vk,
                   "facebook": self.route_facebook}
        if first not in routers:
            return text_resp(404, "Not Found: the fake serves /google, /google-oauth, /telegram, "
                                  "/vk, /facebook and /_control\n")
        platform, method, action = routers[first](req, rest)
        entry = {"platform": platform, "method": method, "at_ms": now_ms(), "status": None,
                 "params": mask(req.params)}
        with self.cond:
            self.calls.append(entry)
        try:
            fault = self.take_fault(platform, method)
            resp = self.fault_response(platform, method, fault, req, rest) if fault else action()
        except Exception:  # a bug in the fake: say so loudly, answer 500
            traceback.print_exc()
            resp = text_resp(500, "the fake failed: see its log\n")
        with self.cond:
            entry["status"] = resp.status
        return resp

    def take_fault(self, platform, method):
        with self.cond:
            for fault in self.faults:
                if fault["platform"] == platform and fault["method"] == method:
                    if fault["remaining"] is not None:
                        fault["remaining"] -= 1
                        if fault["remaining"] <= 0:
                            self.faults.remove(fault)
                    return dict(fault)
        return None

    def mark_served(self, keys):
        """Under the lock: the first time each comment went out to the product."""
        at = now_ms()
        for key in keys:
            self.served.setdefault(key, at)

    # ---- faults ---------------------------------------------------------------------------

    def fault_response(self, platform, method, fault, req, rest):
        kind = fault["fault"]
        if kind == "malformed":
            return raw_fixture_resp(platform + "/malformed")
        if platform == "youtube":
            if method == "token":
                if kind == "unauthorized":
                    return fixture_resp(400, "youtube/oauth_error_invalid_grant")
                if kind == "http_500":
                    return fixture_resp(500, "youtube/error_backendError")
            return {
                "quotaExceeded": lambda: fixture_resp(403, "youtube/error_quotaExceeded"),
                "rateLimitExceeded": lambda: fixture_resp(403, "youtube/error_rateLimitExceeded"),
                "unauthorized": lambda: fixture_resp(401, "youtube/error_authError",
                                                     headers=self.www_authenticate()),
                "http_500": lambda: fixture_resp(500, "youtube/error_backendError"),
            }[kind]()
        if platform == "telegram":
            if kind in ("telegram_429", "quotaExceeded", "rateLimitExceeded"):
                retry = fault.get("retry_after")
                retry = 5 if retry is None else retry
                return fixture_resp(429, "telegram/error_429", retry_after=retry)
            if kind == "unauthorized":
                return fixture_resp(401, "telegram/error_401")
            return fixture_resp(500, "telegram/error_500")
        if platform == "vk":
            if method == "a_check":
                if kind == "vk_failed_1":
                    ts = as_int(req.p("ts"))
                    with self.cond:
                        if ts is None or ts > self.vk_event_num:
                            ts = self.vk_event_num
                    return fixture_resp(200, "vk/failed_1", ts=ts)
                if kind in ("vk_failed_2", "vk_failed_3"):
                    group = as_int(rest[1]) if len(rest) > 1 else None
                    with self.cond:
                        if group in self.vk_groups:
                            self.vk_groups[group]["keys"].clear()
                    return fixture_resp(200, "vk/" + kind[3:])
                return self.vk_error(req, method, 10, "fake http_500", status=500)
            if kind == "http_500":
                return self.vk_error(req, method, 10, "fake http_500", status=500)
            return {
                "quotaExceeded": lambda: self.vk_error(req, method, 29),
                "rateLimitExceeded": lambda: self.vk_error(req, method, 6),
                "vk_error_6": lambda: self.vk_error(req, method, 6),
                "unauthorized": lambda: self.vk_error(req, method, 5, "invalid access_token (4)."),
            }[kind]()
        # facebook
        return {
            "quotaExceeded": lambda: fixture_resp(403, "facebook/error_4", fbtrace_id=fbtrace()),
            "rateLimitExceeded": lambda: fixture_resp(403, "facebook/error_32", fbtrace_id=fbtrace()),
            "unauthorized": lambda: fixture_resp(400, "facebook/error_190_460", fbtrace_id=fbtrace(),
                                                 headers=self.fb_www_authenticate()),
            "http_500": lambda: fixture_resp(500, "facebook/error_2", fbtrace_id=fbtrace()),
        }[kind]()

    # ---- YouTube ---------------------------------------------------------------------------

    @staticmethod
    def www_authenticate():
        return {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'}

    def route_youtube(self, req, rest):
        path = "/".join(rest)
        table = {
            ("GET", "youtube/v3/liveChat/messages"): ("liveChatMessages.list", self.yt_list),
            ("DELETE", "youtube/v3/liveChat/messages"): ("liveChatMessages.delete", self.yt_delete),
            ("POST", "youtube/v3/liveChat/bans"): ("liveChatBans.insert", self.yt_ban),
            ("GET", "youtube/v3/liveBroadcasts"): ("liveBroadcasts.list", self.yt_broadcasts_list),
            ("GET", "youtube/v3/videos"): ("videos.list", self.yt_videos_list),
        }
        method, fn = table.get((req.verb, path.rstrip("/")), (None, None))
        if method is None:
            return "youtube", "%s /%s" % (req.verb, path), lambda: fixture_resp(404, "youtube/error_notFound")
        return "youtube", method, lambda: fn(req)

    def yt_check_auth(self, req, api_key_ok=False):
        """None when the request carries a valid access token (or, where allowed, an API key)."""
        token = req.bearer()
        if token is None:
            if api_key_ok and req.p("key"):
                return None
            return fixture_resp(401, "youtube/error_required_credentials", headers=self.www_authenticate())
        with self.cond:
            info = self.yt_access.get(token)
            ok = (info is not None and info["expires"] > time.time()
                  and token not in self.revoked["youtube"]
                  and info["refresh"] not in self.revoked["youtube"])
        if not ok:
            return fixture_resp(401, "youtube/error_authError", headers=self.www_authenticate())
        return None

    @staticmethod
    def yt_missing(name):
        return fixture_resp(400, "youtube/error_missingRequiredParameter",
                            message="Required parameter: %s" % name, location=name)

    @staticmethod
    def yt_parts(req, allowed):
        return {p.strip() for p in (req.p("part") or "").split(",") if p.strip() in allowed}

    def yt_list(self, req):
        denied = self.yt_check_auth(req)
        if denied:
            return denied
        chat_id = req.p("liveChatId")
        if not chat_id:
            return self.yt_missing("liveChatId")
        if not req.p("part"):
            return self.yt_missing("part")
        parts = self.yt_parts(req, ("id", "snippet", "authorDetails"))
        max_results = as_int(req.p("maxResults"))
        max_results = 500 if max_results is None else min(max(max_results, 1), 2000)
        after = 0
        token = req.p("pageToken")
        if token:
            after = unopaque("yt", token)
            if after is None:
                return fixture_resp(400, "youtube/error_invalidPageToken")
        with self.cond:
            chat = self.yt_chats.get(chat_id)
            if chat is None:
                return fixture_resp(404, "youtube/error_liveChatNotFound")
            if chat["ended"]:
                return fixture_resp(403, "youtube/error_liveChatEnded")
            start = bisect.bisect_right(chat["seqs"], after)
            items, last = [], after
            for i in range(start, len(chat["seqs"])):
                if len(items) >= max_results:
                    break
                last = chat["seqs"][i]
                message = chat["messages"][i]
                if message["id"] not in self.yt_deleted_set:
                    items.append(message)
            remaining = sum(1 for m in chat["messages"][bisect.bisect_right(chat["seqs"], last):]
                            if m["id"] not in self.yt_deleted_set)
            self.mark_served("youtube:" + m["id"] for m in items)
            interval = self.yt_interval
        shown = [{k: v for k, v in m.items() if k in ("kind", "etag", "id") or k in parts} for m in items]
        next_token = opaque("yt", last)
        return fixture_resp(200, "youtube/liveChatMessages.list",
                            etag=etag("list", chat_id, next_token, len(shown)),
                            nextPageToken=next_token, pollingIntervalMillis=interval,
                            totalResults=len(shown) + remaining, resultsPerPage=len(shown),
                            items=shown)

    def yt_delete(self, req):
        denied = self.yt_check_auth(req)
        if denied:
            return denied
        message_id = req.p("id")
        if not message_id:
            return self.yt_missing("id")
        with self.cond:
            if message_id not in self.yt_messages or message_id in self.yt_deleted_set:
                return fixture_resp(404, "youtube/error_liveChatMessageNotFound")
            self.yt_deleted_set.add(message_id)
            self.yt_deleted.append(message_id)
        return Resp(204)

    def yt_ban(self, req):
        denied = self.yt_check_auth(req)
        if denied:
            return denied
        if not req.p("part"):
            return self.yt_missing("part")
        snippet = (req.json or {}).get("snippet") if isinstance(req.json, dict) else None
        if not isinstance(snippet, dict):
            return self.yt_missing("snippet")
        chat_id = snippet.get("liveChatId")
        kind = snippet.get("type")
        banned = snippet.get("bannedUserDetails") or {}
        channel = banned.get("channelId") if isinstance(banned, dict) else None
        if not chat_id:
            return self.yt_missing("snippet.liveChatId")
        if not channel:
            return self.yt_missing("snippet.bannedUserDetails.channelId")
        if kind not in ("permanent", "temporary"):
            return fixture_resp(400, "youtube/error_invalidValue", reason="liveChatBanTypeInvalid",
                                message="The snippet.type value must be permanent or temporary.")
        duration = None
        if kind == "temporary":
            duration = as_int(snippet.get("banDurationSeconds"))
            duration = 300 if duration is None else duration
            if duration <= 0:
                return fixture_resp(400, "youtube/error_invalidValue", reason="banDurationSecondsInvalid",
                                    message="The snippet.banDurationSeconds value is invalid.")
        with self.cond:
            if chat_id not in self.yt_chats:
                return fixture_resp(404, "youtube/error_liveChatNotFound")
            ban_id = opaque("ban", self._next_seq())
            self.yt_bans.append({"live_chat_id": chat_id, "channel_id": channel, "type": kind,
                                 "ban_duration_seconds": duration})
            name = self.yt_author_names().get(channel, channel)
        return fixture_resp(200, "youtube/liveChatBan", etag=etag("ban", ban_id), id=ban_id,
                            liveChatId=chat_id, type=kind,
                            banDurationSeconds=None if duration is None else str(duration),
                            channelId=channel, channelUrl="http://www.youtube.com/channel/" + channel,
                            displayName=name, profileImageUrl=self.yt_avatar(channel))

    def yt_author_names(self):
        return {m["snippet"]["authorChannelId"]: m["authorDetails"]["displayName"]
                for m in self.yt_messages.values()}

    @staticmethod
    def yt_avatar(channel):
        return "https://yt3.ggpht.com/fake-%s=s88-c-k-c0x00ffffff-no-rj" % channel

    def yt_broadcast_resource(self, b, parts=None):
        status = {"active": ("live", "recording"), "completed": ("complete", "recorded"),
                  "upcoming": ("ready", "notRecording")}[b["status"]]
        resource = fixture("youtube/liveBroadcast", etag=etag("broadcast", b), id=b["id"],
                           publishedAt=rfc3339_seconds(b["created"]), channelId=b["channel_id"],
                           title=b["title"], scheduledStartTime=rfc3339_seconds(b["created"]),
                           actualStartTime=rfc3339_seconds(b["started"]) if b["started"] else None,
                           actualEndTime=rfc3339_seconds(b["ended"]) if b["ended"] else None,
                           liveChatId=b["live_chat_id"], lifeCycleStatus=status[0],
                           recordingStatus=status[1])
        if parts is not None:
            resource = {k: v for k, v in resource.items() if k in ("kind", "etag", "id") or k in parts}
        return resource

    def yt_broadcasts_list(self, req):
        denied = self.yt_check_auth(req)
        if denied:
            return denied
        if not req.p("part"):
            return self.yt_missing("part")
        parts = self.yt_parts(req, ("id", "snippet", "status", "contentDetails"))
        filters = [f for f in ("mine", "id", "broadcastStatus") if req.p(f)]
        if not filters:
            return fixture_resp(400, "youtube/error_missingRequiredParameter", location="parameters.",
                                message="No filter selected. Expected one of: mine, id, broadcastStatus")
        if len(filters) > 1:
            return fixture_resp(400, "youtube/error_incompatibleParameters", parameters=", ".join(filters))
        with self.cond:
            broadcasts = list(self.yt_broadcasts.values())
            if req.p("id"):
                wanted = [x.strip() for x in req.p("id").split(",")]
                broadcasts = [self.yt_broadcasts[x] for x in wanted if x in self.yt_broadcasts]
            elif req.p("broadcastStatus") and req.p("broadcastStatus") != "all":
                broadcasts = [b for b in broadcasts if b["status"] == req.p("broadcastStatus")]
            elif req.p("mine") and req.p("mine") != "true":
                broadcasts = []
            items = [self.yt_broadcast_resource(b, parts) for b in broadcasts]
        return fixture_resp(200, "youtube/liveBroadcasts.list", etag=etag("broadcasts", items),
                            totalResults=len(items), resultsPerPage=len(items), items=items)

    def yt_videos_list(self, req):
        denied = self.yt_check_auth(req, api_key_ok=True)
        if denied:
            return denied
        if not req.p("part"):
            return self.yt_missing("part")
        if not req.p("id"):
            return fixture_resp(400, "youtube/error_missingRequiredParameter", location="parameters.",
                                message="No filter selected. Expected one of: chart, id, myRating")
        parts = self.yt_parts(req, ("id", "snippet", "liveStreamingDetails"))
        items = []
        with self.cond:
            for video_id in (x.strip() for x in req.p("id").split(",")):
                b = self.yt_broadcasts.get(video_id)
                if b is None:
                    continue
                live = b["status"] == "active"
                video = fixture("youtube/video", etag=etag("video", b), id=b["id"],
                                publishedAt=rfc3339_seconds(b["created"]), channelId=b["channel_id"],
                                title=b["title"], channelTitle="Kezdesu fake channel",
                                liveBroadcastContent={"active": "live", "upcoming": "upcoming"}.get(
                                    b["status"], "none"),
                                scheduledStartTime=rfc3339_seconds(b["created"]),
                                actualStartTime=rfc3339_seconds(b["started"]) if b["started"] else None,
                                actualEndTime=rfc3339_seconds(b["ended"]) if b["ended"] else None,
                                concurrentViewers="0" if live else None,
                                activeLiveChatId=b["live_chat_id"] if live else None)
                items.append({k: v for k, v in video.items() if k in ("kind", "etag", "id") or k in parts})
        return fixture_resp(200, "youtube/videos.list", etag=etag("videos", items), items=items,
                            totalResults=len(items), resultsPerPage=len(items))

    # ---- Google OAuth ----------------------------------------------------------------------

    def route_oauth(self, req, rest):
        if req.verb == "POST" and "/".join(rest).rstrip("/") == "token":
            return "youtube", "token", lambda: self.oauth_token(req)
        return "youtube", "%s /%s" % (req.verb, "/".join(rest)), \
            lambda: fixture_resp(404, "youtube/error_notFound")

    def oauth_token(self, req):
        grant = req.p("grant_type")
        if not grant:
            return fixture_resp(400, "youtube/oauth_error_invalid_request",
                                error_description="Missing required parameter: grant_type")
        if grant != "refresh_token":
            return fixture_resp(400, "youtube/oauth_error_unsupported_grant_type", grant_type=grant)
        if not req.p("client_id"):
            return fixture_resp(401, "youtube/oauth_error_invalid_client")
        if not req.p("client_secret"):
            return fixture_resp(400, "youtube/oauth_error_invalid_request",
                                error_description="client_secret is missing.")
        refresh = req.p("refresh_token")
        if not refresh:
            return fixture_resp(400, "youtube/oauth_error_invalid_request",
                                error_description="Missing required parameter: refresh_token")
        with self.cond:
            if refresh in self.revoked["youtube"]:
                return fixture_resp(400, "youtube/oauth_error_invalid_grant")
            access = "ya29.fake-" + secrets.token_urlsafe(32)
            self.yt_access[access] = {"refresh": refresh, "expires": time.time() + YT_ACCESS_TTL}
        return fixture_resp(200, "youtube/oauth_token", access_token=access, expires_in=YT_ACCESS_TTL,
                            headers={"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate",
                                     "Pragma": "no-cache"})

    # ---- Telegram --------------------------------------------------------------------------

    def route_telegram(self, req, rest):
        bot = rest[0] if rest else ""
        name = rest[1] if len(rest) > 1 else ""
        method = TELEGRAM_METHODS.get(name.lower(), name or "?")
        token = bot[3:] if bot.startswith("bot") else ""
        if len(rest) != 2 or not TELEGRAM_TOKEN.match(token):
            return "telegram", method, lambda: fixture_resp(404, "telegram/error_404")
        return "telegram", method, lambda: self.telegram(req, token, method)

    def telegram(self, req, token, method):
        with self.cond:
            revoked = token in self.revoked["telegram"]
        if revoked:
            return fixture_resp(401, "telegram/error_401")
        if req.body_error:
            return fixture_resp(400, "telegram/error_400", reason="can't parse request: " + req.body_error)
        if method == "getMe":
            bot_id = int(token.split(":")[0])
            return fixture_resp(200, "telegram/getMe", id=bot_id, username="kezdesu_fake_%d_bot" % bot_id)
        if method == "getUpdates":
            return self.tg_get_updates(req, token)
        if method == "deleteMessage":
            return self.tg_delete(req)
        if method == "banChatMember":
            return self.tg_ban(req)
        return fixture_resp(404, "telegram/error_404")

    def tg_bot(self, token):
        bot = self.tg_bots.get(token)
        if bot is None:
            bot = self.tg_bots[token] = {"updates": [], "allowed": None}
        return bot

    @staticmethod
    def tg_allowed(update, allowed):
        kind = next(k for k in update if k != "update_id")
        if not allowed:  # unset or empty: everything but these three
            return kind not in ("chat_member", "message_reaction", "message_reaction_count")
        return kind in allowed

    def tg_get_updates(self, req, token):
        offset = as_int(req.p("offset"))
        limit = as_int(req.p("limit"))
        limit = 100 if limit is None else min(max(limit, 1), 100)
        timeout = as_int(req.p("timeout")) or 0
        timeout = min(max(timeout, 0), TELEGRAM_POLL_CAP)
        allowed = req.params.get("allowed_updates")
        if isinstance(allowed, str):
            try:
                allowed = json.loads(allowed)
            except ValueError:
                return fixture_resp(400, "telegram/error_400", reason="can't parse allowed_updates JSON array")
        if allowed is not None and not (isinstance(allowed, list) and all(isinstance(x, str) for x in allowed)):
            return fixture_resp(400, "telegram/error_400", reason="can't parse allowed_updates JSON array")
        deadline = time.monotonic() + timeout
        with self.cond:
            bot = self.tg_bot(token)
            if allowed is not None:
                bot["allowed"] = allowed
            if offset is not None:
                if offset < 0:
                    del bot["updates"][:max(len(bot["updates"]) + offset, 0)]
                else:
                    bot["updates"] = [u for u in bot["updates"] if u["update_id"] >= offset]
            while True:
                bot = self.tg_bot(token)
                result = [u for u in bot["updates"] if self.tg_allowed(u, bot["allowed"])][:limit]
                remaining = deadline - time.monotonic()
                if result or remaining <= 0:
                    break
                self.cond.wait(remaining)
            keys = []
            for update in result:
                for value in update.values():
                    if isinstance(value, dict) and "message_id" in value and isinstance(value.get("chat"), dict):
                        keys.append("telegram:%s:%s" % (value["chat"].get("id"), value["message_id"]))
            self.mark_served(keys)
            result = json.loads(json.dumps(result))
        return fixture_resp(200, "telegram/getUpdates", result=result)

    def tg_delete(self, req):
        chat = req.params.get("chat_id")
        message_id = as_int(req.params.get("message_id"))
        if chat in (None, ""):
            return fixture_resp(400, "telegram/error_400", reason="chat_id is empty")
        if message_id is None:
            return fixture_resp(400, "telegram/error_400", reason="message identifier is not specified")
        key = (chat_key(chat), message_id)
        with self.cond:
            if key not in self.tg_known or list(key) in self.tg_deleted:
                return fixture_resp(400, "telegram/error_400", reason="message to delete not found")
            self.tg_deleted.append(list(key))
        return fixture_resp(200, "telegram/ok_true")

    def tg_ban(self, req):
        chat = req.params.get("chat_id")
        user = as_int(req.params.get("user_id"))
        if chat in (None, ""):
            return fixture_resp(400, "telegram/error_400", reason="chat_id is empty")
        if user is None:
            return fixture_resp(400, "telegram/error_400", reason="invalid user_id specified")
        until = req.params.get("until_date")
        with self.cond:
            self.tg_bans.append({"chat_id": chat_key(chat), "user_id": user,
                                 "until_date": None if until in (None, "") else as_int(until)})
        return fixture_resp(200, "telegram/ok_true")

    # ---- VK ----------------------------------------------------------------------------------

    def route_vk(self, req, rest):
        if len(rest) == 2 and rest[0] == "method":
            name = rest[1]
            handlers = {
                "groups.getLongPollServer": self.vk_get_server,
                "video.deleteComment": lambda r: self.vk_delete(r, "video.deleteComment", "video"),
                "wall.deleteComment": lambda r: self.vk_delete(r, "wall.deleteComment", "wall"),
                "groups.ban": self.vk_ban,
                "users.get": self.vk_users_get,
            }
            fn = handlers.get(name)
            if fn is None:
                return "vk", name, lambda: self.vk_error(req, name, 3)
            return "vk", name, lambda: self.vk_method(req, name, fn)
        if len(rest) == 2 and rest[0] == "longpoll":
            return "vk", "a_check", lambda: self.vk_a_check(req, rest[1])
        return "vk", "%s /%s" % (req.verb, "/".join(rest)), lambda: text_resp(404, "Not Found\n")

    def vk_error(self, req, method, code, detail=None, status=200):
        request_params = [{"key": "method", "value": method}, {"key": "oauth", "value": "1"}]
        for key, value in req.params.items():
            if key in ("access_token", "method", "oauth"):
                continue
            request_params.append({"key": key, "value": value if isinstance(value, str) else json.dumps(value)})
        return fixture_resp(status, "vk/error_%d" % code, request_params=request_params,
                            detail=detail or "")

    def vk_method(self, req, name, fn):
        token = req.p("access_token")
        if not token:
            return self.vk_error(req, name, 5, "no access_token passed.")
        with self.cond:
            revoked = token in self.revoked["vk"]
        if revoked:
            return self.vk_error(req, name, 5, "invalid access_token (4).")
        if not req.p("v"):
            return self.vk_error(req, name, 8, "v (version) is required")
        return fn(req)

    def vk_group(self, group_id):
        group = self.vk_groups.get(group_id)
        if group is None:
            group = self.vk_groups[group_id] = {"nums": [], "events": [], "keys": set()}
        return group

    def vk_get_server(self, req):
        group_id = as_int(req.p("group_id"))
        if group_id is None or group_id <= 0:
            return self.vk_error(req, "groups.getLongPollServer", 100, "group_id is undefined")
        key = secrets.token_hex(20)
        with self.cond:
            self.vk_group(group_id)["keys"].add(key)
            ts = self.vk_event_num
        return fixture_resp(200, "vk/groups.getLongPollServer", key=key, ts=str(ts),
                            server="http://%s/vk/longpoll/%d" % (req.host, group_id))

    def vk_a_check(self, req, group_text):
        group_id = as_int(group_text)
        if req.p("act") != "a_check" or group_id is None:
            return text_resp(404, "Not Found\n")
        key = req.p("key")
        ts = as_int(req.p("ts"))
        wait = as_int(req.p("wait"))
        wait = VK_POLL_CAP if wait is None else min(max(wait, 0), VK_POLL_CAP)
        deadline = time.monotonic() + wait
        with self.cond:
            while True:
                group = self.vk_groups.get(group_id)
                if group is None or key not in group["keys"]:
                    return fixture_resp(200, "vk/failed_2")
                if ts is None or ts < 0 or ts > self.vk_event_num:
                    return fixture_resp(200, "vk/failed_1", ts=self.vk_event_num)
                start = bisect.bisect_right(group["nums"], ts)
                events = group["events"][start:start + 1000]
                remaining = deadline - time.monotonic()
                if events or remaining <= 0:
                    break
                self.cond.wait(remaining)
            new_ts = group["nums"][start + len(events) - 1] if events else ts
            keys = []
            for event in events:
                obj = event["object"]
                owner = obj.get("video_owner_id") if event["type"] == "video_comment_new" else (
                    obj.get("post_owner_id") if event["type"] == "wall_reply_new" else None)
                if owner is not None and "id" in obj:
                    keys.append("vk:%s_%s" % (owner, obj["id"]))
            self.mark_served(keys)
            events = json.loads(json.dumps(events))
        return fixture_resp(200, "vk/a_check", ts=str(new_ts), updates=events)

    def vk_delete(self, req, method, kind):
        owner = as_int(req.p("owner_id"))
        comment = as_int(req.p("comment_id"))
        if owner is None:
            return self.vk_error(req, method, 100, "owner_id is undefined")
        if comment is None:
            return self.vk_error(req, method, 100, "comment_id is undefined")
        with self.cond:
            key = (kind, owner, comment)
            if key not in self.vk_comments or key in self.vk_deleted_set:
                return self.vk_error(req, method, 100, "comment_id is invalid")
            self.vk_deleted_set.add(key)
            self.vk_deleted.append({"method": method, "owner_id": owner, "comment_id": comment})
        return fixture_resp(200, "vk/response_1")

    def vk_ban(self, req):
        group_id = as_int(req.p("group_id"))
        owner = as_int(req.p("owner_id"))
        if group_id is None:
            return self.vk_error(req, "groups.ban", 100, "group_id is undefined")
        if owner is None:
            return self.vk_error(req, "groups.ban", 100, "owner_id is undefined")
        with self.cond:
            self.vk_bans.append({
                "group_id": group_id, "owner_id": owner,
                "end_date": as_int(req.p("end_date")) if req.p("end_date") else None,
                "reason": as_int(req.p("reason")) if req.p("reason") else None,
                "comment": req.p("comment"),
                "comment_visible": as_int(req.p("comment_visible")) if req.p("comment_visible") else None,
            })
        return fixture_resp(200, "vk/response_1")

    def vk_users_get(self, req):
        raw = req.params.get("user_ids")
        if isinstance(raw, list):
            raw = ",".join(str(x) for x in raw)
        ids = [as_int(x) for x in str(raw or "").split(",") if x.strip()]
        fields = [f.strip() for f in (req.p("fields") or "").split(",") if f.strip()]
        users = []
        with self.cond:
            for user_id in ids:
                if user_id is None:
                    return self.vk_error(req, "users.get", 100, "user_ids is invalid")
                stored = self.vk_users.get(user_id)
                if stored is None:
                    users.append(fixture("vk/user_deleted", id=user_id))
                    continue
                user = fixture("vk/user", id=user_id, first_name=stored.get("first_name", ""),
                               last_name=stored.get("last_name", ""))
                for field in fields:
                    if field in stored:
                        user[field] = stored[field]
                users.append(user)
        return fixture_resp(200, "vk/users.get", users=users)

    # ---- Facebook ------------------------------------------------------------------------

    @staticmethod
    def fb_www_authenticate():
        return {"WWW-Authenticate": 'OAuth "Facebook Platform" "invalid_token" "Error validating access token"'}

    def route_facebook(self, req, rest):
        version = rest[0] if rest and GRAPH_VERSION.match(rest[0]) else None
        tail = rest[1:] if version else rest
        if req.verb == "GET" and len(tail) == 2 and tail[1] == "comments" and tail[0]:
            return "facebook", "comments", lambda: self.fb_list(req, version, tail[0])
        if req.verb == "POST" and len(tail) == 1 and tail[0]:
            return "facebook", "hide", lambda: self.fb_hide(req, tail[0])
        return "facebook", "%s /%s" % (req.verb, "/".join(rest)), lambda: fixture_resp(
            400, "facebook/error_2500", path="/".join(tail), fbtrace_id=fbtrace())

    def fb_token_check(self, req):
        token = req.p("access_token") or req.bearer()
        if not token:
            return fixture_resp(400, "facebook/error_104", fbtrace_id=fbtrace())
        with self.cond:
            revoked = token in self.revoked["facebook"]
        if revoked:
            return fixture_resp(400, "facebook/error_190_460", fbtrace_id=fbtrace(),
                                headers=self.fb_www_authenticate())
        return None

    @staticmethod
    def fb_fields(req):
        raw = req.p("fields")
        if not raw:
            return list(FB_DEFAULT_FIELDS)
        fields, depth, current = [], 0, ""
        for ch in raw:  # split on top-level commas only: from{id,name},message
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            if ch == "," and depth == 0:
                fields.append(current)
                current = ""
            else:
                current += ch
        fields.append(current)
        names = [f.split("{")[0].split(".")[0].strip() for f in fields if f.strip()]
        return names if "id" in names else names + ["id"]

    def fb_list(self, req, version, video_id):
        denied = self.fb_token_check(req)
        if denied:
            return denied
        limit = as_int(req.p("limit"))
        limit = 25 if limit is None else min(max(limit, 1), 1000)
        order = req.p("order") or "chronological"
        if order not in ("chronological", "reverse_chronological"):
            return fixture_resp(400, "facebook/error_100", fbtrace_id=fbtrace(),
                                detail="param order must be one of {CHRONOLOGICAL, REVERSE_CHRONOLOGICAL}")
        after = None
        if req.p("after"):
            after = unopaque("fb", req.p("after"))
            if after is None:
                return fixture_resp(400, "facebook/error_100", fbtrace_id=fbtrace(),
                                    detail="The parameter after is not a valid cursor")
        fields = self.fb_fields(req)
        with self.cond:
            video = self.fb_videos.get(video_id)
            if video is not None and video["gone"]:
                return fixture_resp(400, "facebook/error_100_33", verb="get", id=video_id, fbtrace_id=fbtrace())
            seqs = video["seqs"] if video else []
            comments = video["comments"] if video else []
            if order == "chronological":
                start = 0 if after is None else bisect.bisect_right(seqs, after)
                page = comments[start:start + limit]
                more = start + limit < len(comments)
            else:
                end = len(comments) if after is None else bisect.bisect_left(seqs, after)
                page = list(reversed(comments[max(end - limit, 0):end]))
                more = end - limit > 0
            self.mark_served("facebook:" + c["id"] for c in page)
            data = [{k: v for k, v in fixture(
                "facebook/comment", created_time=c["created_time"], message=c["message"],
                id=c["id"], permalink_url=c["permalink_url"], is_hidden=c["id"] in self.fb_hidden,
                **{"from": c["from"]}).items() if k in fields} for c in page]
            cursors = [c["_seq"] for c in page]
        if not data:
            return fixture_resp(200, "facebook/comments", data=[])
        next_url = None
        if more:
            query = [(k, v) for k, v in urllib.parse.parse_qsl(req.raw_query, keep_blank_values=True)
                     if k not in ("after", "before")]
            query.append(("after", opaque("fb", cursors[-1])))
            next_url = "http://%s/facebook/%s%s/comments?%s" % (
                req.host, version + "/" if version else "", video_id, urllib.parse.urlencode(query))
        paging = fixture("facebook/paging", before=opaque("fb", cursors[0]), after=opaque("fb", cursors[-1]),
                         next=next_url)
        return fixture_resp(200, "facebook/comments", data=data, paging=paging)

    def fb_hide(self, req, comment_id):
        denied = self.fb_token_check(req)
        if denied:
            return denied
        hidden = as_bool(req.params.get("is_hidden"))
        with self.cond:
            if comment_id not in self.fb_comments:
                return fixture_resp(400, "facebook/error_100_33", verb="post", id=comment_id, fbtrace_id=fbtrace())
            if hidden is None:
                return fixture_resp(400, "facebook/error_100", fbtrace_id=fbtrace(),
                                    detail="Param is_hidden must be a boolean")
            if hidden and comment_id not in self.fb_hidden:
                self.fb_hidden.append(comment_id)
            if not hidden and comment_id in self.fb_hidden:
                self.fb_hidden.remove(comment_id)
        return fixture_resp(200, "facebook/hide")

    # ---- the control API -----------------------------------------------------------------

    def control(self, req, rest):
        path = "/".join(rest).rstrip("/")
        if req.verb == "GET":
            with self.cond:
                if path == "state":
                    return json_resp(200, self.state())
                if path == "served":
                    return json_resp(200, dict(self.served))
                if path == "calls":
                    platform = req.p("platform")
                    calls = [dict(c) for c in self.calls if platform in (None, "", c["platform"])]
                    return json_resp(200, calls)
                if path == "faults":
                    return json_resp(200, [dict(f) for f in self.faults])
            return json_resp(404, {"error": "no such control: GET /_control/" + path})
        if req.verb != "POST":
            return json_resp(405, {"error": "the control API takes GET and POST"})
        body = {}
        if req.body:  # JSON whatever the Content-Type says (curl -d sends a form type)
            try:
                body = json.loads(req.body.decode("utf-8"))
            except ValueError:
                body = None
            if not isinstance(body, dict):
                raise BadControl("the body must be a JSON object")
        handlers = {
            "reset": self.c_reset,
            "youtube/broadcasts": self.c_yt_broadcast,
            "youtube/polling_interval_ms": self.c_yt_interval,
            "youtube/messages": self.c_yt_message,
            "telegram/messages": self.c_tg_message,
            "vk/events": self.c_vk_event,
            "vk/users": self.c_vk_user,
            "facebook/comments": self.c_fb_comment,
            "facebook/live_videos": self.c_fb_video,
            "faults": self.c_fault,
            "faults/clear": self.c_faults_clear,
            "revoke": self.c_revoke,
        }
        fn = handlers.get(path)
        if fn is None:
            return json_resp(404, {"error": "no such control: POST /_control/" + path})
        return json_resp(200, fn(body))

    def state(self):
        return json.loads(json.dumps({
            "youtube": {"deleted": self.yt_deleted, "bans": self.yt_bans},
            "telegram": {"deleted": self.tg_deleted, "bans": self.tg_bans},
            "vk": {"deleted": self.vk_deleted, "bans": self.vk_bans},
            "facebook": {"hidden": self.fb_hidden},
        }))

    @staticmethod
    def need(body, name, kind=str):
        value = body.get(name)
        if value is None or value == "" or (kind is int and as_int(value) is None):
            raise BadControl("%s is required" % name)
        return as_int(value) if kind is int else value

    def c_reset(self, body):
        with self.cond:
            self._reset()
        return {"ok": True}

    def c_yt_broadcast(self, body):
        broadcast_id = str(self.need(body, "id"))
        status = body.get("status") or "active"
        if status not in ("active", "completed", "upcoming"):
            raise BadControl("status is active, completed or upcoming")
        now = time.time()
        with self.cond:
            old = self.yt_broadcasts.get(broadcast_id) or {}
            b = {"id": broadcast_id,
                 "live_chat_id": str(body.get("live_chat_id") or old.get("live_chat_id") or "")
                 or self.need(body, "live_chat_id"),
                 "status": status,
                 "title": body.get("title") or old.get("title") or "Kezdesu meeting " + broadcast_id,
                 "channel_id": body.get("channel_id") or old.get("channel_id") or "UCfakeKezdesuChannel00001",
                 "created": old.get("created", now),
                 "started": old.get("started") or (now if status in ("active", "completed") else None),
                 "ended": old.get("ended") or (now if status == "completed" else None)}
            self.yt_broadcasts[broadcast_id] = b
            chat = self.yt_chat(b["live_chat_id"])
            chat["ended"] = status == "completed"
            return self.yt_broadcast_resource(b)

    def yt_chat(self, chat_id):
        chat = self.yt_chats.get(chat_id)
        if chat is None:
            chat = self.yt_chats[chat_id] = {"seqs": [], "messages": [], "ended": False}
        return chat

    def c_yt_interval(self, body):
        ms = self.need(body, "ms", int)
        with self.cond:
            self.yt_interval = max(ms, 0)
        return {"ms": self.yt_interval}

    def c_yt_message(self, body):
        chat_id = str(self.need(body, "live_chat_id"))
        author = str(self.need(body, "author_channel_id"))
        text = body.get("text")
        if not isinstance(text, str):
            raise BadControl("text is required")
        published = body.get("published_at")
        with self.cond:
            seq = self._next_seq()
            message_id = str(body.get("id") or "LCC." + opaque("fake-message", seq))
            if message_id in self.yt_messages:
                raise BadControl("a message with id %s exists" % message_id)
            resource = fixture(
                "youtube/liveChatMessage", etag=etag("message", message_id), id=message_id,
                liveChatId=chat_id, authorChannelId=author,
                publishedAt=published or rfc3339_micro(time.time()), displayMessage=text, messageText=text,
                channelUrl="http://www.youtube.com/channel/" + author,
                displayName=body.get("author_name") or author,
                profileImageUrl=body.get("profile_image_url") or self.yt_avatar(author),
                isVerified=bool(body.get("is_verified", False)),
                isChatOwner=bool(body.get("is_chat_owner", False)),
                isChatSponsor=bool(body.get("is_chat_sponsor", False)),
                isChatModerator=bool(body.get("is_chat_moderator", False)))
            chat = self.yt_chat(chat_id)
            chat["seqs"].append(seq)
            chat["messages"].append(resource)
            self.yt_messages[message_id] = resource
            return json.loads(json.dumps(resource))

    def c_tg_message(self, body):
        token = str(self.need(body, "bot_token"))
        if not TELEGRAM_TOKEN.match(token):
            raise BadControl("bot_token must look like 123456:ABC-DEF...")
        message = body.get("message")
        if not isinstance(message, dict) or not isinstance(message.get("chat"), dict) \
                or message["chat"].get("id") is None:
            raise BadControl("message must be a Bot API Message object with chat.id")
        update_type = body.get("update_type") or "message"
        message = json.loads(json.dumps(message))
        chat = chat_key(message["chat"]["id"])
        with self.cond:
            if message.get("message_id") is None:
                message["message_id"] = self.tg_next_message.get(chat, 1)
            self.tg_next_message[chat] = max(self.tg_next_message.get(chat, 1), int(message["message_id"]) + 1)
            message.setdefault("date", int(time.time()))
            update_id = self.tg_next_update
            self.tg_next_update += 1
            update = fixture("telegram/update", update_id=update_id, update_type=update_type, message=message)
            self.tg_bot(token)["updates"].append(update)
            self.tg_known.add((chat, int(message["message_id"])))
            self.cond.notify_all()
            return json.loads(json.dumps(update))

    def c_vk_event(self, body):
        group_id = self.need(body, "group_id", int)
        kind = str(self.need(body, "type"))
        given = body.get("object") or {}
        if not isinstance(given, dict):
            raise BadControl("object must be a JSON object")
        with self.cond:
            if kind in ("video_comment_new", "wall_reply_new"):
                comment_id = as_int(given.get("id"))
                if comment_id is None:
                    comment_id = self.vk_next_comment
                self.vk_next_comment = max(self.vk_next_comment, comment_id + 1)
                owner_key = "video_owner_id" if kind == "video_comment_new" else "post_owner_id"
                item_key = "video_id" if kind == "video_comment_new" else "post_id"
                owner = as_int(given.get(owner_key, given.get("owner_id")))
                owner = -group_id if owner is None else owner
                obj = fixture("vk/%s.object" % kind, id=comment_id, from_id=as_int(given.get("from_id")) or 1,
                              date=as_int(given.get("date")) or int(time.time()), text=given.get("text", ""),
                              owner_id=owner, item_id=as_int(given.get(item_key)) or 1)
                normalised = ("id", "from_id", "date", "owner_id", owner_key, item_key)
                obj.update({k: v for k, v in given.items() if k not in normalised})
                self.vk_comments[("video" if kind == "video_comment_new" else "wall", owner, comment_id)] = obj
            else:
                obj = json.loads(json.dumps(given))
            self.vk_event_num += 1
            num = self.vk_event_num
            event = fixture("vk/event", group_id=group_id, type=kind, object=obj,
                            event_id=hashlib.sha1(("fake-event:%d" % num).encode()).hexdigest())
            group = self.vk_group(group_id)
            group["nums"].append(num)
            group["events"].append(event)
            self.cond.notify_all()
            return json.loads(json.dumps(event))

    def c_vk_user(self, body):
        user_id = self.need(body, "id", int)
        user = json.loads(json.dumps(body))
        user["id"] = user_id
        with self.cond:
            self.vk_users[user_id] = user
        return user

    def c_fb_comment(self, body):
        video_id = str(self.need(body, "live_video_id"))
        sender = body.get("from")
        if not isinstance(sender, dict) or sender.get("id") is None:
            raise BadControl("from must be {\"id\": .., \"name\": ..}")
        message = body.get("message")
        if not isinstance(message, str):
            raise BadControl("message is required")
        with self.cond:
            seq = self._next_seq()
            comment_id = str(body.get("id") or "%s_%d" % (video_id, 900000000000000 + seq))
            if comment_id in self.fb_comments:
                raise BadControl("a comment with id %s exists" % comment_id)
            comment = {"id": comment_id, "message": message,
                       "created_time": body.get("created_time") or graph_time(time.time()),
                       "from": {"id": str(sender["id"]), "name": sender.get("name", "")},
                       "permalink_url": body.get("permalink_url")
                       or "https://www.facebook.com/%s/?comment_id=%s" % (video_id, comment_id),
                       "_seq": seq}
            video = self.fb_video(video_id)
            video["seqs"].append(seq)
            video["comments"].append(comment)
            self.fb_comments[comment_id] = comment
            public = fixture("facebook/comment", created_time=comment["created_time"], message=message,
                             id=comment_id, permalink_url=comment["permalink_url"], is_hidden=False,
                             **{"from": comment["from"]})
            return json.loads(json.dumps(public))

    def fb_video(self, video_id):
        video = self.fb_videos.get(video_id)
        if video is None:
            video = self.fb_videos[video_id] = {"seqs": [], "comments": [], "gone": False}
        return video

    def c_fb_video(self, body):
        video_id = str(self.need(body, "id"))
        with self.cond:
            video = self.fb_video(video_id)
            video["gone"] = bool(body.get("gone", False))
            return {"id": video_id, "gone": video["gone"]}

    def c_fault(self, body):
        platform = self.need(body, "platform")
        if platform in ("google", "google-oauth"):
            platform = "youtube"
        if platform not in METHODS:
            raise BadControl("platform is one of " + ", ".join(PLATFORMS))
        method = self.need(body, "method")
        if platform == "telegram":
            method = TELEGRAM_METHODS.get(str(method).lower(), method)
        if method not in METHODS[platform]:
            raise BadControl("%s methods: %s" % (platform, ", ".join(METHODS[platform])))
        kind = self.need(body, "fault")
        if kind not in FAULTS:
            raise BadControl("fault is one of " + ", ".join(FAULTS))
        why_not = fault_applies(platform, method, kind)
        if why_not:
            raise BadControl(why_not)
        times = body.get("times")
        if times is not None and (as_int(times) is None or as_int(times) < 1):
            raise BadControl("times is a positive number, or null for until reset")
        retry_after = body.get("retry_after")
        if retry_after is not None and as_int(retry_after) is None:
            raise BadControl("retry_after is a number of seconds")
        fault = {"platform": platform, "method": method, "fault": kind,
                 "times": None if times is None else as_int(times),
                 "remaining": None if times is None else as_int(times),
                 "retry_after": None if retry_after is None else as_int(retry_after)}
        with self.cond:
            self.faults.append(fault)
            return dict(fault)

    def c_faults_clear(self, body):
        with self.cond:
            self.faults = []
        return {"ok": True}

    def c_revoke(self, body):
        platform = self.need(body, "platform")
        if platform not in PLATFORMS:
            raise BadControl("platform is one of " + ", ".join(PLATFORMS))
        token = str(self.need(body, "token"))
        with self.cond:
            self.revoked[platform].add(token)
        return {"ok": True}


# --------------------------------------------------------------------------------------------
# HTTP


_LOG_BOT_TOKEN = re.compile(r"(/bot)[^/\s]+")
_LOG_SECRET_PARAM = re.compile(r"([?&](?:\w*_)?(?:token|secret|key|password)=)[^&\s\"]*", re.IGNORECASE)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kezdesu-platforms-fake/1"
    fake = None
    verbose = False

    def _serve(self, verb):
        try:
            resp = self.fake.handle(self, verb)
        except Exception:
            traceback.print_exc()
            resp = text_resp(400, "bad request\n")
        try:
            self.send_response(resp.status)
            for name, value in resp.headers.items():
                self.send_header(name, value)
            if resp.status != 204:
                self.send_header("Content-Type", resp.ctype)
                self.send_header("Content-Length", str(len(resp.body)))
            self.end_headers()
            if resp.status != 204 and verb != "HEAD":
                self.wfile.write(resp.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_DELETE(self):
        self._serve("DELETE")

    def do_PUT(self):
        self._serve("PUT")

    def do_PATCH(self):
        self._serve("PATCH")

    def log_message(self, format, *args):
        if self.verbose:  # with the bot token of the path and the secrets of the query masked
            line = _LOG_BOT_TOKEN.sub(r"\1***", format % args)
            line = _LOG_SECRET_PARAM.sub(r"\1***", line)
            sys.stderr.write("%s %s\n" % (self.log_date_time_string(), line))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--verbose", action="store_true", help="one line per request on stderr")
    args = parser.parse_args()
    Handler.fake = Fake()
    Handler.verbose = args.verbose
    server = Server((args.host, args.port), Handler)
    sys.stderr.write("platforms fake listening on http://%s:%d\n" % (args.host, server.server_address[1]))
    sys.stderr.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
