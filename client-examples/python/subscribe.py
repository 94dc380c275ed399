#!/usr/bin/env python3
"""An integrator's subscriber for hadir: prints presence events and notifications as they come.

    HADIR_URL=http://127.0.0.1:8080 HADIR_TOKEN=hdr_… python subscribe.py [--max-events N] [--timeout SECONDS]

The pattern: read the current state once (it also checks the token), then subscribe over
WebSocket with `gql`'s websockets transport (`graphql-transport-ws`, the token in
`connection_init`). All four subscriptions share one connection.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import datetime, timezone

from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport

SUMMARY = "present alert unavailable total"
EMPLOYEE = "employeeId name presence { status lastSeen camera { cameraId name } }"


def who(employee: dict) -> str:
    return f"{employee['name']} ({employee['employeeId']})"


def where(camera: dict) -> str:
    return f"{camera['name']} ({camera['cameraId']})"


def summary_text(s: dict) -> str:
    return f"{s['present']} present, {s['alert']} alert, {s['unavailable']} never seen, {s['total']} total"


def status_text(e: dict) -> str:
    camera = e["presence"]["camera"]
    return f"{who(e)} is now {e['presence']['status']}" + (
        f" (last seen at {where(camera)})" if camera else ""
    )


def detection_text(d: dict) -> str:
    score = "" if d["score"] is None else f", similarity {d['score']:.2f}"
    return f"{who(d['employee'])} seen at {where(d['camera'])}{score}"


# What to subscribe to, and how to print each event in one line.
SUBSCRIPTIONS = {
    "employeeStatusChanged": (
        f"subscription {{ employeeStatusChanged {{ {EMPLOYEE} }} }}",
        status_text,
    ),
    "employeeDetected": (
        "subscription { employeeDetected { seenAt score employee { employeeId name }"
        " camera { cameraId name } } }",
        detection_text,
    ),
    "presenceSummaryChanged": (
        f"subscription {{ presenceSummaryChanged {{ {SUMMARY} }} }}",
        summary_text,
    ),
    "notificationCreated": (
        "subscription { notificationCreated { id type message createdAt } }",
        lambda n: f"#{n['id']} {n['type']}: {n['message']}",
    ),
}


class Done(Exception):
    """Enough events came."""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Prints hadir's presence events (employeeStatusChanged, employeeDetected, "
        "presenceSummaryChanged) and notifications (notificationCreated) as they come. "
        "Set HADIR_URL (default http://127.0.0.1:8080) and HADIR_TOKEN.",
    )
    parser.add_argument("--max-events", type=int, metavar="N", help="exit 0 after N events")
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="exit 1 if the N events have not come by then (default 60 with --max-events, else none)",
    )
    args = parser.parse_args()
    if args.max_events is not None and args.max_events <= 0:
        parser.error("--max-events must be a positive integer")
    if args.timeout is not None and args.timeout <= 0:
        parser.error("--timeout must be positive")
    if args.timeout is None and args.max_events is not None:
        args.timeout = 60.0
    return args


async def run(args: argparse.Namespace, url: str, token: str) -> None:
    ws_url = url.replace("http", "ws", 1) + "/graphql"
    transport = WebsocketsTransport(
        url=ws_url,
        init_payload={"authorization": f"Bearer {token}"},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],  # graphql-transport-ws
        ping_interval=20,  # our pings keep idle proxies from closing the socket
        pong_timeout=10,
    )
    events = 0

    async with Client(transport=transport) as session:
        # The state now (over the same socket), which also proves the token works.
        start = await session.execute(gql(f"{{ me {{ role }} presenceSummary {{ {SUMMARY} }} }}"))
        print(f"hadir at {url}, as {start['me']['role']}; now: {summary_text(start['presenceSummary'])}")
        print(f"subscribed over {ws_url}: {', '.join(SUBSCRIPTIONS)}", flush=True)

        async def listen(name: str, query: str, fmt) -> None:
            nonlocal events
            async for data in session.subscribe(gql(query)):
                at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                print(f"{at}  {name:<22}  {fmt(data[name])}", flush=True)
                events += 1
                if args.max_events is not None and events >= args.max_events:
                    raise Done

        tasks = [asyncio.create_task(listen(n, q, f)) for n, (q, f) in SUBSCRIPTIONS.items()]
        try:
            # The first to finish ends the run: Done, or an error.
            done, _ = await asyncio.wait(tasks, timeout=args.timeout, return_when=asyncio.FIRST_COMPLETED)
            if not done:
                wanted = "" if args.max_events is None else f" of {args.max_events}"
                raise TimeoutError(f"timed out after {args.timeout:g} s with {events}{wanted} events")
            for task in done:
                task.result()  # raises Done or the error
            raise RuntimeError("the server ended the subscriptions")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def close_reason(error: BaseException) -> str:
    """The WebSocket close code and reason behind an error, where there is one."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        rcvd = getattr(error, "rcvd", None)
        if rcvd is not None:
            return f" (closed by the server: {rcvd.code} {rcvd.reason})"
        error = error.__cause__ or error.__context__
    return ""


def main() -> int:
    args = parse_args()
    url = os.environ.get("HADIR_URL", "http://127.0.0.1:8080").rstrip("/")
    token = os.environ.get("HADIR_TOKEN")
    if not token:
        print("error: set HADIR_TOKEN (a viewer token: `hadir token create --role viewer`)", file=sys.stderr)
        return 2
    try:
        asyncio.run(run(args, url, token))
    except Done:
        print(f"received {args.max_events} events; done")
        return 0
    except KeyboardInterrupt:
        return 0
    except TimeoutError as error:
        print(error, file=sys.stderr)
        return 1
    except TransportQueryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # connection refused, closed with 4403 (bad token), …
        print(f"error: {type(error).__name__}: {error}{close_reason(error)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
