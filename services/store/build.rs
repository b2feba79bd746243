//! `sqlx::migrate!` embeds the migrations when this crate compiles: a migration added, edited or
//! removed must make it compile again, which cargo only knows from this script.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
