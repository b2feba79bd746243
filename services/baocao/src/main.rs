//! The `baocao` command. See `baocao --help` and README.md.

fn main() -> std::process::ExitCode {
    baocao::entry::main()
}
