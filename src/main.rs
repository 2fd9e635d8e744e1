fn main() {
    let code = match coracle::cli::parse() {
        Ok(cli) => coracle::cli::run(cli),
        Err(code) => code,
    };
    std::process::exit(code);
}
