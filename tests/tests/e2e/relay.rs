//! The TCP_NODELAY relay (`store::relay`): a pool given a TCP URL reaches PostgreSQL over TCP
//! through this process's relay, which serves every pool of its runtime, is started again for a
//! runtime that comes after it, clears up after processes that have ended, and
//! `BAOCAO_DATABASE_RELAY=off` connects directly.

#![allow(clippy::unwrap_used)]

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;

fn tcp_url(database: &str) -> String {
    format!("postgres://postgres@127.0.0.1:5432/{database}")
}

#[test]
fn pools_over_tcp_go_through_the_processs_relay_unchanged() {
    let name = format!("bct_relay_{}", std::process::id());
    let folder = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let pool = store::db::connect_and_migrate(&tcp_url(&name), 4)
            .await
            .unwrap();
        // The server sees a TCP client (a Unix-socket client has no address)...
        let client: Option<String> = sqlx::query_scalar("select host(inet_client_addr())")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(client.as_deref(), Some("127.0.0.1"));
        // ... while the pool connects to the relay's socket, which the next pool shares.
        let options = PgConnectOptions::from_str(&tcp_url(&name)).unwrap();
        let folder = store::relay::route(options.clone())
            .get_socket()
            .cloned()
            .unwrap();
        assert!(folder.join(".s.PGSQL.5432").exists());
        assert_eq!(
            store::relay::route(options.clone()).get_socket(),
            Some(&folder)
        );
        // A thousand statements and a large value pass through unchanged.
        for i in 0..1000_i64 {
            let back: i64 = sqlx::query_scalar("select $1::bigint")
                .bind(i)
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(back, i);
        }
        let large = "x".repeat(4 * 1024 * 1024);
        let length: i32 = sqlx::query_scalar("select length($1)")
            .bind(&large)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(length, large.len() as i32);
        // Switched off, options are left as they are: sqlx connects over TCP itself.
        store::relay::set_enabled(false);
        assert!(store::relay::route(options.clone()).get_socket().is_none());
        store::relay::set_enabled(true);
        pool.close().await;
        folder
    });

    // The relay ended with the runtime that ran it: the next runtime's pools get a new one.
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let pool = store::db::connect_and_migrate(&tcp_url(&name), 1)
            .await
            .unwrap();
        store::db::ping(&pool).await.unwrap();
        let options = PgConnectOptions::from_str(&tcp_url(&name)).unwrap();
        let second = store::relay::route(options).get_socket().cloned().unwrap();
        assert_ne!(
            second, folder,
            "a relay whose runtime ended was handed out again"
        );
        pool.close().await;
        let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&tcp_url("postgres"))
            .await
            .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "drop database \"{name}\" with (force)"
        )))
        .execute(&mut admin)
        .await
        .unwrap();
    });
}

#[test]
fn a_new_relay_removes_the_folders_of_processes_that_have_ended() {
    let mut ended = std::process::Command::new("true").spawn().unwrap();
    let pid = ended.id();
    ended.wait().unwrap();
    let stale = std::env::temp_dir().join(format!("baocao-pg-{pid}-0"));
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join(".s.PGSQL.5432"), b"").unwrap();
    // A relay for another server starts, and sweeps.
    let options = PgConnectOptions::from_str("postgres://postgres@127.0.0.1:5999/none").unwrap();
    let routed = store::relay::route(options);
    assert!(routed.get_socket().is_some());
    assert!(!stale.exists(), "the ended process's folder is still there");
}
