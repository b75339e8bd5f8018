// sqlx::migrate! embeds the migrations at compile time; without this an added or edited
// migration is not picked up by an incremental build.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
