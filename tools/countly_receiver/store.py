# store.py - the receiver's SQLite storage: schema, migration of older files, bounded request
# log, row reads with filters. One connection shared by the handler threads under one lock.

import json
import sqlite3
import threading

from .jsvalues import json_text

# Each table: (name, column definitions). Opening a file written by an older receiver adds the
# columns it lacks, so a kept database (e.g. the demo's) can still be browsed.
_TABLES = (
    ("requests", "parent_id INTEGER, received_ms INTEGER, method TEXT, path TEXT, query TEXT,"
     " body TEXT, content_type TEXT, params TEXT, status INTEGER, answer TEXT, app_key TEXT,"
     " device_id TEXT, fault TEXT, body_size INTEGER, notes TEXT"),
    ("devices", "app_key TEXT, device_id TEXT, first_seen_ms INTEGER, last_seen_ms INTEGER,"
     " metrics TEXT, sdk_name TEXT, sdk_version TEXT, av TEXT, tz INTEGER, rr TEXT, hc TEXT,"
     " ornt TEXT, session_count INTEGER DEFAULT 0, total_duration_s INTEGER DEFAULT 0,"
     " last_end_ms INTEGER, last_end_final INTEGER DEFAULT 0, last_req TEXT, profile TEXT,"
     " country_code TEXT, city TEXT, lat REAL, lon REAL, ip_address TEXT,"
     " location_opt_out INTEGER DEFAULT 0, consent TEXT, attribution TEXT, push TEXT"),
    ("sessions", "request_id INTEGER, app_key TEXT, device_id TEXT, begin_ms INTEGER,"
     " end_ms INTEGER, duration_s INTEGER DEFAULT 0, open INTEGER, extended INTEGER DEFAULT 0,"
     " end_reason TEXT"),
    ("events", "request_id INTEGER, app_key TEXT, device_id TEXT, key TEXT, count INTEGER,"
     " sum REAL, dur REAL, segmentation TEXT, timestamp INTEGER, hour INTEGER, dow INTEGER,"
     " event_id TEXT, pvid TEXT, cvid TEXT, peid TEXT, aggregated INTEGER, warnings TEXT"),
    ("aggregates", "app_key TEXT, key TEXT, segment TEXT, value TEXT, count INTEGER,"
     " sum REAL, dur REAL"),
    ("crashes", "request_id INTEGER, app_key TEXT, device_id TEXT, error TEXT, name TEXT,"
     " nonfatal INTEGER, app_version TEXT, os TEXT, os_version TEXT, logs TEXT, run REAL,"
     " custom TEXT, crash TEXT, timestamp INTEGER, crash_warnings TEXT"),
    ("consent", "request_id INTEGER, app_key TEXT, device_id TEXT, changes TEXT, consent TEXT,"
     " timestamp INTEGER"),
    ("location", "request_id INTEGER, app_key TEXT, device_id TEXT, country_code TEXT,"
     " city TEXT, lat REAL, lon REAL, ip_address TEXT, opt_out INTEGER, timestamp INTEGER"),
    ("apm", "request_id INTEGER, app_key TEXT, device_id TEXT, type TEXT, name TEXT,"
     " apm_metrics TEXT, stz INTEGER, etz INTEGER, data TEXT, timestamp INTEGER"),
    ("attribution", "request_id INTEGER, app_key TEXT, device_id TEXT, campaign_id TEXT,"
     " campaign_user TEXT, attribution_data TEXT, aid TEXT, timestamp INTEGER"),
    ("merges", "request_id INTEGER, app_key TEXT, old_device_id TEXT, new_device_id TEXT,"
     " old_found INTEGER, moved TEXT, timestamp INTEGER"),
    ("ab", "request_id INTEGER, app_key TEXT, device_id TEXT, action TEXT, keys TEXT,"
     " variant TEXT, timestamp INTEGER"),
    ("health_checks", "request_id INTEGER, app_key TEXT, device_id TEXT, el INTEGER,"
     " wl INTEGER, sc INTEGER, em TEXT, bom INTEGER, cbom INTEGER, hc TEXT, metrics TEXT,"
     " timestamp INTEGER"),
    ("feedback", "request_id INTEGER, app_key TEXT, device_id TEXT, type TEXT, widget_id TEXT,"
     " rating INTEGER, comment TEXT, email TEXT, contact_me TEXT, closed INTEGER,"
     " platform TEXT, app_version TEXT, answers TEXT, timestamp INTEGER"),
    ("sdk_requests", "request_id INTEGER, app_key TEXT, device_id TEXT, path TEXT, method TEXT,"
     " keys TEXT, omit_keys TEXT, params TEXT, status INTEGER, answer TEXT,"
     " received_ms INTEGER"),
)
TABLES = tuple(name for name, _ in _TABLES)
_INDEXES = (
    "CREATE UNIQUE INDEX IF NOT EXISTS devices_key ON devices (app_key, device_id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS aggregates_key ON aggregates (app_key, key, segment,"
    " value)",
    "CREATE INDEX IF NOT EXISTS events_dev ON events (app_key, device_id)",
)
# Columns holding JSON text; rows() decodes them so callers compare Python values.
JSON_COLUMNS = frozenset(("params", "metrics", "hc", "profile", "consent", "attribution", "push",
                          "segmentation", "custom", "crash", "changes", "apm_metrics", "moved",
                          "keys", "omit_keys", "notes", "warnings", "crash_warnings",
                          "answers"))
# Tables whose rows move to the new device id on an old_device_id merge.
MERGE_TABLES = ("sessions", "events", "crashes", "consent", "location", "apm", "attribution",
                "ab", "health_checks", "feedback", "sdk_requests")
TRUNCATED = "...[truncated by the receiver]"


def cap_text(s, limit):
    # Request-log cells are bounded so a client sending 1 MiB bodies cannot grow the store
    # by as much; the original size is kept beside the body.
    if s is None or len(s) <= limit:
        return s
    return s[:limit] + TRUNCATED


def cap_params(params, limit):
    # JSON of the parsed params, with long string values cut so the cell stays near `limit`.
    text = json_text(params)
    if len(text) <= limit:
        return text
    each = max(64, limit // max(1, len(params)))
    short = {k: (cap_text(v, each) if isinstance(v, str) else v) for k, v in params.items()}
    return cap_text(json_text(short), limit)


class Store:
    def __init__(self, path):
        self.lock = threading.RLock()
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self._columns = {}
        with self.lock:
            self._create()

    def _create(self):
        for name, cols in _TABLES:
            self.db.execute("CREATE TABLE IF NOT EXISTS %s (id INTEGER PRIMARY KEY"
                            " AUTOINCREMENT, %s)" % (name, cols))
            have = {r[1] for r in self.db.execute("PRAGMA table_info(%s)" % name)}
            for col in cols.split(","):
                col = col.strip()
                if col.split()[0] not in have:
                    self.db.execute("ALTER TABLE %s ADD COLUMN %s" % (name, col))
            self._columns[name] = [r[1] for r in self.db.execute("PRAGMA table_info(%s)"
                                                                 % name)]
        for sql in _INDEXES:
            self.db.execute(sql)
        self.db.commit()

    def execute(self, sql, args=()):
        return self.db.execute(sql, args)

    def commit(self):
        self.db.commit()

    def close(self):
        with self.lock:
            self.db.close()

    def insert(self, table, **cols):
        sql = "INSERT INTO %s (%s) VALUES (%s)" % (table, ", ".join(cols),
                                                   ", ".join("?" * len(cols)))
        return self.db.execute(sql, list(cols.values())).lastrowid

    def columns(self, table):
        if table not in self._columns:
            raise ValueError("unknown table %r" % (table,))
        return self._columns[table]

    def rows(self, table, filters=None, limit=None, after=None, newest_first=False):
        # Exact-match filters on any column; rows in id order (or newest first), JSON decoded.
        filters = filters or {}
        cols = self.columns(table)
        bad = [k for k in filters if k not in cols]
        if bad:
            raise ValueError("unknown column(s) %s in %s" % (", ".join(bad), table))
        where = ["%s = ?" % k for k in filters]
        args = list(filters.values())
        if after is not None:
            where.append("id > ?")
            args.append(int(after))
        sql = "SELECT * FROM %s%s ORDER BY id%s" % (
            table, " WHERE " + " AND ".join(where) if where else "",
            " DESC" if newest_first else "")
        if limit is not None:
            sql += " LIMIT %d" % int(limit)
        with self.lock:
            fetched = self.db.execute(sql, args).fetchall()
        return [_decode(row) for row in fetched]

    def distinct(self, table, column, where=None, limit=1000):
        sql = "SELECT DISTINCT %s FROM %s WHERE %s IS NOT NULL" % (column, table, column)
        args = []
        if where:
            sql += " AND " + " AND ".join("%s = ?" % k for k in where)
            args = list(where.values())
        with self.lock:
            return [r[0] for r in self.db.execute(sql + " ORDER BY 1 LIMIT %d" % limit, args)]

    def reset(self):
        with self.lock:
            for t in TABLES:
                self.db.execute("DELETE FROM %s" % t)
            self.db.commit()

    # -- devices ----------------------------------------------------------------------------

    def device(self, key, dev):
        return self.db.execute("SELECT * FROM devices WHERE app_key=? AND device_id=?",
                               (key, dev)).fetchone()

    def touch_device(self, key, dev, now):
        self.db.execute("INSERT OR IGNORE INTO devices (app_key, device_id, first_seen_ms)"
                        " VALUES (?,?,?)", (key, dev, now))
        self.db.execute("UPDATE devices SET last_seen_ms=? WHERE app_key=? AND device_id=?",
                        (now, key, dev))

    def set_device(self, key, dev, **cols):
        if not cols:
            return
        sets = ", ".join("%s=?" % c for c in cols)
        self.db.execute("UPDATE devices SET %s WHERE app_key=? AND device_id=?" % sets,
                        list(cols.values()) + [key, dev])

    def device_json(self, key, dev, column):
        row = self.device(key, dev)
        return json.loads(row[column]) if row is not None and row[column] else {}


def _decode(row):
    d = dict(row)
    for k in JSON_COLUMNS.intersection(d):
        if isinstance(d[k], str):
            try:
                d[k] = json.loads(d[k])
            except ValueError:
                pass
    return d
