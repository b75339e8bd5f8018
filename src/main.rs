// mimalloc: the ACS allocates many short-lived buffers per session from several threads
// (tokio workers, SQLite's); glibc malloc spent about a fifth of the CPU of a load run in
// malloc/free/consolidation, and fragments between arenas.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    ferroacs::cli::main()
}
