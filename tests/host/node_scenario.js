// Interop driver: runs the official Countly Node SDK (countly-sdk-nodejs,
// pinned by tests/host/test_node_interop.py) through one scripted scenario
// against the local receiver (tools/countly_receiver.py).
//
// Why: the receiver is what the countly_mp tests trust to behave like a real
// Countly server.  Feeding it traffic from the vendor's own SDK (with a
// checksum salt) proves that its parsing, checksum verification and storage
// accept real-world requests, not just the ones our own client produces.
//
// Configuration comes from environment variables (set by the pytest test):
//   CLY_URL          receiver base URL, e.g. http://127.0.0.1:PORT
//   CLY_APP_KEY      app key known to the receiver
//   CLY_SALT         checksum salt for that app
//   CLY_STORAGE      directory for the SDK's file storage (fresh per run)
//   CLY_FORCE_POST   "1" -> the SDK sends every request as form POST
//   CLY_DEVICE_ID    first device id (the scenario merges it into CLY_DEVICE_ID + "-merged")
//   CLY_TIMEOUT_MS   hard limit for the whole run (default 60000)
//
// On success it prints one JSON line ("SUMMARY {...}") describing what the SDK
// actually sent and got back, then exits 0.  The SDK has a self-rescheduling
// heartbeat timer and never lets the process end by itself, so the script
// decides when the SDK is drained and calls process.exit().
"use strict";

const http = require("http");
const path = require("path");

const URL_ = process.env.CLY_URL;
const APP_KEY = process.env.CLY_APP_KEY || "APPKEY";
const SALT = process.env.CLY_SALT || "";
const STORAGE = process.env.CLY_STORAGE;
const FORCE_POST = process.env.CLY_FORCE_POST === "1";
const DEVICE_ID = process.env.CLY_DEVICE_ID || "node-dev-1";
const MERGED_ID = `${DEVICE_ID}-merged`;
const TIMEOUT_MS = Number(process.env.CLY_TIMEOUT_MS || 60000);

if (!URL_ || !STORAGE) {
    console.error("CLY_URL and CLY_STORAGE are required");
    process.exit(3);
}

// Count in-flight HTTP requests and remember every answer.  The SDK looks up
// `http.request` on the shared module object at call time, so wrapping it here
// sees all of its traffic.  This is the only way to know that the last request
// has been answered: the SDK shifts a request off its queue *before* sending it.
const origRequest = http.request;
let inFlight = 0;
const exchanges = [];
http.request = function(options, callback) {
    inFlight += 1;
    const entry = { method: options.method, path: options.path, status: null, body: null, error: null };
    exchanges.push(entry);
    let settled = false;
    const settle = () => {
        if (!settled) {
            settled = true;
            inFlight -= 1;
        }
    };
    const req = origRequest.call(http, options, (res) => {
        entry.status = res.statusCode;
        let body = "";
        res.on("data", (c) => {
            body += c;
        });
        // Registered after the SDK's own "end" listener (callback runs first),
        // so by the time we count it as done the SDK has re-queued or dropped it.
        callback(res);
        res.on("end", () => {
            entry.body = body;
            settle();
        });
    });
    req.on("error", (err) => {
        entry.error = String(err);
        settle();
    });
    return req;
};

const Countly = require("countly-sdk-nodejs");
// Same module instance the SDK uses internally (resolves to the same file, and
// the package has no "exports" map restricting deep requires).
const CountlyStorage = require("countly-sdk-nodejs/lib/countly-storage");

const sleep = (ms) => new Promise((resolve) => {
    setTimeout(resolve, ms);
});

const hardTimer = setTimeout(() => {
    console.error(`TIMEOUT after ${TIMEOUT_MS} ms; queue=${JSON.stringify(CountlyStorage.storeGet("cly_queue", []))}`);
    console.log(`SUMMARY ${JSON.stringify({ ok: false, reason: "timeout", exchanges })}`);
    process.exit(2);
}, TIMEOUT_MS);

// The receiver's checksum rule and our segmentation both need characters that
// must survive percent-encoding: non-ASCII (2-, 3- and 4-byte UTF-8) plus the
// URL delimiters "& = ?" and "+".
const TRICKY_SEG = {
    item: "coffee",
    size: "L",
    "ünï": "çödé & = ?",
    "温度": "21.5°C 🌡",
    expr: "a+b=c&d?e#f%20",
};

async function main() {
    Countly.init({
        app_key: APP_KEY,
        url: URL_,
        device_id: DEVICE_ID,
        salt: SALT,
        app_version: "1.2.3",
        // Trailing separator matters: the SDK builds file names as `${path}__cly_queue.json`.
        storage_path: STORAGE.endsWith(path.sep) ? STORAGE : STORAGE + path.sep,
        // 100 ms heartbeat: the SDK sends at most one request per beat, so the
        // default 500 ms would make the run several seconds longer.
        interval: 100,
        // Default is 60 s; a transient failure should be retried within the run.
        fail_timeout: 1,
        force_post: FORCE_POST,
        debug: process.env.CLY_DEBUG === "1",
    });

    Countly.begin_session();

    // Timed event: started now, ended after the view pause below.
    Countly.start_event("download");

    Countly.add_event({ key: "button_click" });
    Countly.add_event({ key: "purchase", count: 2, sum: 9.99, dur: 3.5, segmentation: TRICKY_SEG });
    Countly.add_event({ key: "sensor_read", count: 5, sum: 1.5, segmentation: { unit: "°C" } });

    Countly.user_details({
        name: "Zoë Lovelace",
        username: "ada",
        email: "ada@example.com",
        organization: "Analytical & Co",
        phone: "+100",
        gender: "F",
        byear: 1990,
        custom: { plan: "pro", fw: "1.0" },
    });

    // First batch establishes base values; the operators in the second batch
    // then have something to act on (a server applies them to stored values).
    Countly.userData.set("level", 10);
    Countly.userData.set("hi", 5);
    Countly.userData.set("lo", 5);
    Countly.userData.set("color", "blue");
    Countly.userData.increment("boots");
    Countly.userData.increment_by("score", 5);
    Countly.userData.set_once("first_seen", "2024-01-01");
    Countly.userData.push_unique("tags", "iot");
    Countly.userData.push("history", "a");
    Countly.userData.push("history", "b");
    Countly.userData.push("history", "c");
    Countly.userData.save();

    Countly.userData.multiply("level", 3); // 30
    Countly.userData.max("hi", 9); // 9
    Countly.userData.min("lo", 2); // 2
    Countly.userData.increment("boots"); // 2
    Countly.userData.set_once("first_seen", "2099-12-31"); // ignored: already set
    Countly.userData.push_unique("tags", "iot"); // no duplicate
    Countly.userData.push_unique("tags", "edge");
    Countly.userData.pull("history", "b"); // ["a", "c"]
    Countly.userData.unset("fw"); // "" removes the custom property
    Countly.userData.save();

    // Handled error with breadcrumbs.
    Countly.add_log("breadcrumb: sensor init");
    Countly.add_log("breadcrumb: i2c retry ünï");
    // Two stack frames keep the crash request well under the SDK's 2000-character
    // GET limit (above it the SDK silently switches to POST) whatever the checkout path.
    const savedLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 2;
    try {
        throw new Error("sensor timeout ünï");
    }
    catch (e) {
        Countly.log_error(e, { module: "i2c" });
    }
    finally {
        Error.stackTraceLimit = savedLimit;
    }

    // Views: the second track_view reports the first view's duration.
    Countly.track_view("settings", { source: "menu" });
    // One pause (>1 s so durations, which the SDK measures in whole seconds,
    // are non-zero) serves both the timed event and the first view.
    await sleep(1100);
    Countly.end_event({ key: "download", segmentation: { file: "fw.bin" } });
    Countly.track_view("home");

    // Device-id change with merge: events queued before and after go out under
    // the new id, preceded by an old_device_id request.
    Countly.add_event({ key: "before_merge" });
    Countly.change_id(MERGED_ID, true);
    Countly.add_event({ key: "after_merge", segmentation: { k: "v" } });
    Countly.userData.increment("boots"); // 3, if the merge carried the properties over
    Countly.userData.save();

    Countly.end_session();

    // Drained = event queue flushed, request queue empty and nothing in flight.
    // All three are updated synchronously inside one heartbeat or HTTP callback,
    // so checking them together from a timer callback is race-free.
    for (;;) {
        const rq = CountlyStorage.storeGet("cly_queue", []);
        const eq = CountlyStorage.storeGet("cly_event", []);
        if (rq.length === 0 && eq.length === 0 && inFlight === 0) {
            break;
        }
        await sleep(25);
    }
    clearTimeout(hardTimer);
    const summary = {
        ok: true,
        method: FORCE_POST ? "POST" : "GET",
        device_id: DEVICE_ID,
        merged_id: MERGED_ID,
        final_device_id: Countly.get_device_id(),
        exchanges,
    };
    console.log(`SUMMARY ${JSON.stringify(summary)}`);
    process.exit(0);
}

main().catch((e) => {
    console.error(e && e.stack ? e.stack : e);
    process.exit(1);
});
