//! The TCP_NODELAY relay (`store::relay`): a pool given a TCP URL reaches PostgreSQL over TCP
//! through this process's relay, every pool of the runtime shares it, it goes with its
//! runtime, and `BAOCAO_DATABASE_RELAY=off` connects directly.

#![allow(clippy::unwrap_used)]

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;

fn tcp_url(database: &str) -> String {
    format!("postgres://postgres@127.0.0.1:5432/{database}")
}

#[test]
fn pools_over_tcp_go_through_one_relay_per_runtime_which_leaves_nothing_behind() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let name = format!("bct_relay_{}", std::process::id());
    let folder = runtime.block_on(async {
        let pool = store::db::connect_and_migrate(&tcp_url(&name), 4)
            .await
            .unwrap();
        // The server sees a TCP client (a Unix-socket client has no address)...
        let client: Option<String> = sqlx::query_scalar("select host(inet_client_addr())")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(client.as_deref(), Some("127.0.0.1"));
        // ... while the pool connects to the relay's socket, shared by the next pool.
        let options = PgConnectOptions::from_str(&tcp_url(&name)).unwrap();
        let routed = store::relay::route(options.clone());
        let folder = routed.get_socket().cloned().unwrap();
        assert!(folder.join(".s.PGSQL.5432").exists());
        let again = store::relay::route(options.clone());
        assert_eq!(again.get_socket(), Some(&folder));
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
    drop(runtime);
    assert!(!folder.exists(), "the relay's folder outlived its runtime");

    // A new runtime gets a new relay.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let pool = store::db::connect_and_migrate(&tcp_url(&name), 1)
            .await
            .unwrap();
        store::db::ping(&pool).await.unwrap();
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
