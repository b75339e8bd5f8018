fn main() -> std::process::ExitCode {
    ferroacs::cli::main()
}
