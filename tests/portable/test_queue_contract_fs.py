# test_queue_contract_fs.py - the queue contract (tests/support/qcontract.py) on FsQueue
# over LittleFS (qb_fs.py).
# Plain test_* functions: pytest on CPython, tests/mp_runner.py on MicroPython.

import qcontract as C

B = "qb_fs"


def test_empty_queue():
    C.empty_queue(B)


def test_append_is_durable_fifo_with_increasing_seqs():
    C.append_is_durable_fifo_with_increasing_seqs(B)


def test_too_large_item_is_refused_and_nothing_written():
    C.too_large_item_is_refused_and_nothing_written(B)


def test_items_after_and_limit():
    C.items_after_and_limit(B)


def test_ack_consumes_durably_and_seqs_are_never_reused():
    C.ack_consumes_durably_and_seqs_are_never_reused(B)


def test_capacity_drops_the_oldest_counted_and_is_settable_at_run_time():
    C.capacity_drops_the_oldest_counted_and_is_settable_at_run_time(B)


def test_drop_oldest_frees_a_unit_counted_and_durable():
    C.drop_oldest_frees_a_unit_counted_and_durable(B)


def test_storage_full():
    C.storage_full(B)
