//! Key/value service tests: ports of MIT 6.824's `kvraft/test_test.go`
//! (2023), in its order, with the same titles, steps, constants and failure
//! messages. Most are [`generic_test`] with different parameters.
//!
//! `cargo test -p kvraft --test kvraft_test 3a` runs part 3A (any part of a
//! test's name selects). A failure names the seed of the run:
//! `LAB_SEED=<seed> cargo test ...` repeats its random choices.

use labrt::time::{Duration, sleep};
use tester::fatal;
use tester::kvraft::{
    Config, ELECTION_TIMEOUT, Generic, append, check, check_concurrent_appends, generic_test,
    generic_test_speed, get, in_background, put, spawn_clients_and_wait,
};

#[test]
fn basic_3a() {
    // Test: one client (3A) ...
    generic_test(Generic::new("3A", 1, 5));
}

#[test]
fn speed_3a() {
    generic_test_speed("3A", None);
}

#[test]
fn concurrent_3a() {
    // Test: many clients (3A) ...
    generic_test(Generic::new("3A", 5, 5));
}

#[test]
fn unreliable_3a() {
    // Test: unreliable net, many clients (3A) ...
    generic_test(Generic::new("3A", 5, 5).unreliable());
}

#[test]
fn unreliable_one_key_3a() {
    const NSERVERS: usize = 3;
    let cfg = Config::new(NSERVERS, true, None);
    let mut ck = cfg.make_client(&cfg.all());

    cfg.begin("Test: concurrent append to same key, unreliable (3A)");

    put(&cfg, &mut ck, "k", "", None, 0);

    const NCLIENT: usize = 5;
    const UPTO: usize = 10;
    let client_cfg = cfg.clone();
    spawn_clients_and_wait(&cfg, NCLIENT, move |me, myck| {
        for n in 0..UPTO {
            append(&client_cfg, myck, "k", &format!("x {me} {n} y"), None, 0);
        }
    });

    let counts = [UPTO; NCLIENT];
    let vx = get(&cfg, &mut ck, "k", None, 0);
    check_concurrent_appends(&vx, &counts);

    cfg.end();
}

/// Submit a request in the minority partition and check that the requests
/// doesn't go through until the partition heals. The leader in the
/// original network ends up in the minority partition.
#[test]
fn one_partition_3a() {
    const NSERVERS: usize = 5;
    let cfg = Config::new(NSERVERS, false, None);
    let mut ck = cfg.make_client(&cfg.all());

    put(&cfg, &mut ck, "1", "13", None, 0);

    cfg.begin("Test: progress in majority (3A)");

    let (p1, p2) = cfg.make_partition();
    cfg.partition(&p1, &p2);

    let mut ckp1 = cfg.make_client(&p1); // connect ckp1 to p1
    let mut ckp2a = cfg.make_client(&p2); // connect ckp2a to p2
    let mut ckp2b = cfg.make_client(&p2); // connect ckp2b to p2
    let (ckp2a_id, ckp2b_id) = (ckp2a.id(), ckp2b.id());

    put(&cfg, &mut ckp1, "1", "14", None, 0);
    check(&cfg, &mut ckp1, "1", "14");

    cfg.end();

    cfg.begin("Test: no progress in minority (3A)");
    let put_cfg = cfg.clone();
    let done0 = in_background("tester-minority-put", move || {
        put(&put_cfg, &mut ckp2a, "1", "15", None, 0);
    });
    let get_cfg = cfg.clone();
    let done1 = in_background("tester-minority-get", move || {
        get(&get_cfg, &mut ckp2b, "1", None, 0); // different clerk in p2
    });

    let limit = Duration::from_secs(1);
    if done0.recv_timeout(limit).is_ok() {
        fatal!("Put in minority completed");
    }
    if done1.try_recv().is_ok() {
        fatal!("Get in minority completed");
    }

    check(&cfg, &mut ckp1, "1", "14");
    put(&cfg, &mut ckp1, "1", "16", None, 0);
    check(&cfg, &mut ckp1, "1", "16");

    cfg.end();

    cfg.begin("Test: completion after heal (3A)");

    cfg.connect_all();
    cfg.connect_client(ckp2a_id, &cfg.all());
    cfg.connect_client(ckp2b_id, &cfg.all());

    sleep(ELECTION_TIMEOUT);

    let limit = Duration::from_millis(30 * 100);
    if done0.recv_timeout(limit).is_err() {
        fatal!("Put did not complete");
    }
    // Go's select here has a default branch, so it never waits and "Get did
    // not complete" cannot fire; this port waits for the Get as for the Put.
    if done1.recv_timeout(limit).is_err() {
        fatal!("Get did not complete");
    }

    check(&cfg, &mut ck, "1", "15");

    cfg.end();
}

#[test]
fn many_partitions_one_client_3a() {
    // Test: partitions, one client (3A) ...
    generic_test(Generic::new("3A", 1, 5).partitions());
}

#[test]
fn many_partitions_many_clients_3a() {
    // Test: partitions, many clients (3A) ...
    generic_test(Generic::new("3A", 5, 5).partitions());
}

#[test]
fn persist_one_client_3a() {
    // Test: restarts, one client (3A) ...
    generic_test(Generic::new("3A", 1, 5).crash());
}

#[test]
fn persist_concurrent_3a() {
    // Test: restarts, many clients (3A) ...
    generic_test(Generic::new("3A", 5, 5).crash());
}

#[test]
fn persist_concurrent_unreliable_3a() {
    // Test: unreliable net, restarts, many clients (3A) ...
    generic_test(Generic::new("3A", 5, 5).unreliable().crash());
}

#[test]
fn persist_partition_3a() {
    // Test: restarts, partitions, many clients (3A) ...
    generic_test(Generic::new("3A", 5, 5).crash().partitions());
}

#[test]
fn persist_partition_unreliable_3a() {
    // Test: unreliable net, restarts, partitions, many clients (3A) ...
    generic_test(Generic::new("3A", 5, 5).unreliable().crash().partitions());
}

#[test]
fn persist_partition_unreliable_linearizable_3a() {
    // Test: unreliable net, restarts, partitions, random keys, many clients (3A) ...
    generic_test(
        Generic::new("3A", 15, 7)
            .unreliable()
            .crash()
            .partitions()
            .random_keys(),
    );
}

/// If one server falls behind, then rejoins, does it recover by using the
/// InstallSnapshot RPC? Also checks that the majority discards committed
/// log entries even if minority doesn't respond.
#[test]
fn snapshot_rpc_3b() {
    const NSERVERS: usize = 3;
    const MAXRAFTSTATE: usize = 1000;
    let cfg = Config::new(NSERVERS, false, Some(MAXRAFTSTATE));
    let mut ck = cfg.make_client(&cfg.all());

    cfg.begin("Test: InstallSnapshot RPC (3B)");

    put(&cfg, &mut ck, "a", "A", None, 0);
    check(&cfg, &mut ck, "a", "A");

    // a bunch of puts into the majority partition.
    cfg.partition(&[0, 1], &[2]);
    {
        let mut ck1 = cfg.make_client(&[0, 1]);
        for i in 0..50 {
            put(&cfg, &mut ck1, &i.to_string(), &i.to_string(), None, 0);
        }
        sleep(ELECTION_TIMEOUT);
        put(&cfg, &mut ck1, "b", "B", None, 0);
    }

    // check that the majority partition has thrown away most of its log
    // entries.
    let sz = cfg.log_size();
    if sz > 8 * MAXRAFTSTATE {
        fatal!("logs were not trimmed ({sz} > 8*{MAXRAFTSTATE})");
    }

    // now make group that requires participation of lagging server, so
    // that it has to catch up.
    cfg.partition(&[0, 2], &[1]);
    {
        let mut ck1 = cfg.make_client(&[0, 2]);
        put(&cfg, &mut ck1, "c", "C", None, 0);
        put(&cfg, &mut ck1, "d", "D", None, 0);
        check(&cfg, &mut ck1, "a", "A");
        check(&cfg, &mut ck1, "b", "B");
        check(&cfg, &mut ck1, "1", "1");
        check(&cfg, &mut ck1, "49", "49");
    }

    // now everybody
    cfg.partition(&[0, 1, 2], &[]);

    put(&cfg, &mut ck, "e", "E", None, 0);
    check(&cfg, &mut ck, "c", "C");
    check(&cfg, &mut ck, "e", "E");
    check(&cfg, &mut ck, "1", "1");

    cfg.end();
}

/// Are the snapshots not too huge? 500 bytes is a generous bound for the
/// operations we're doing here.
///
/// MIT's 500 bytes are Go's gob; ours, 460, leave the same room for what a
/// snapshot holds. Measured with Go 1.19, a snapshot of the data and the
/// duplicate table as students write it (`e.Encode(kv.data)`,
/// `e.Encode(kv.lastSeq)`: a `map[string]string` and a `map[int64]int`)
/// takes 40 bytes with both maps empty (each map's type descriptor and
/// message), and the state this test leaves (key "x", one clerk) 56.
/// What the maps hold costs the same in labgob: 4 bytes for "x" → "1",
/// about 12 for a clerk's id and request number. labgob's fixed part is 2
/// bytes, the maps' lengths (the reference's snapshot here takes 17). So
/// MIT's bound leaves 460 bytes for the contents, and 2 + 460 = 462,
/// rounded, is ours.
#[test]
fn snapshot_size_3b() {
    const NSERVERS: usize = 3;
    const MAXRAFTSTATE: usize = 1000;
    const MAXSNAPSHOTSTATE: usize = 460;
    let cfg = Config::new(NSERVERS, false, Some(MAXRAFTSTATE));
    let mut ck = cfg.make_client(&cfg.all());

    cfg.begin("Test: snapshot size is reasonable (3B)");

    for _ in 0..200 {
        put(&cfg, &mut ck, "x", "0", None, 0);
        check(&cfg, &mut ck, "x", "0");
        put(&cfg, &mut ck, "x", "1", None, 0);
        check(&cfg, &mut ck, "x", "1");
    }

    // check that servers have thrown away most of their log entries
    let sz = cfg.log_size();
    if sz > 8 * MAXRAFTSTATE {
        fatal!("logs were not trimmed ({sz} > 8*{MAXRAFTSTATE})");
    }

    // check that the snapshots are not unreasonably large
    let ssz = cfg.snapshot_size();
    if ssz > MAXSNAPSHOTSTATE {
        fatal!("snapshot too large ({ssz} > {MAXSNAPSHOTSTATE})");
    }

    cfg.end();
}

#[test]
fn speed_3b() {
    generic_test_speed("3B", Some(1000));
}

#[test]
fn snapshot_recover_3b() {
    // Test: restarts, snapshots, one client (3B) ...
    generic_test(Generic::new("3B", 1, 5).crash().snapshots(1000));
}

#[test]
fn snapshot_recover_many_clients_3b() {
    // Test: restarts, snapshots, many clients (3B) ...
    generic_test(Generic::new("3B", 20, 5).crash().snapshots(1000));
}

#[test]
fn snapshot_unreliable_3b() {
    // Test: unreliable net, snapshots, many clients (3B) ...
    generic_test(Generic::new("3B", 5, 5).unreliable().snapshots(1000));
}

#[test]
fn snapshot_unreliable_recover_3b() {
    // Test: unreliable net, restarts, snapshots, many clients (3B) ...
    generic_test(
        Generic::new("3B", 5, 5)
            .unreliable()
            .crash()
            .snapshots(1000),
    );
}

#[test]
fn snapshot_unreliable_recover_concurrent_partition_3b() {
    // Test: unreliable net, restarts, partitions, snapshots, many clients (3B) ...
    generic_test(
        Generic::new("3B", 5, 5)
            .unreliable()
            .crash()
            .partitions()
            .snapshots(1000),
    );
}

#[test]
fn snapshot_unreliable_recover_concurrent_partition_linearizable_3b() {
    // Test: unreliable net, restarts, partitions, snapshots, random keys, many clients (3B) ...
    generic_test(
        Generic::new("3B", 15, 7)
            .unreliable()
            .crash()
            .partitions()
            .snapshots(1000)
            .random_keys(),
    );
}
