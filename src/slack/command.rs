//! `/vibe …` text to a command, through the application's grammar (clap), so a command behaves
//! the same in a terminal and in Slack (DESIGN.md §2), and `/vibe help` is generated from it.

use clap::{CommandFactory, Parser};

use crate::app::grammar::{AbtestCommand, Cli, Command};

/// What `/vibe …` asked for.
#[derive(Debug)]
pub enum SlackCommand {
    /// `/vibe`, `/vibe help`, `/vibe help report`.
    Help,
    /// A command of the grammar that also runs in Slack (`abtest new` with its fields among
    /// them).
    Run(Box<Command>),
    /// `/vibe abtest new` with nothing after it: the form.
    NewTestForm,
}

/// Why the text isn't a command vibe runs in Slack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    /// What is wrong, for a person.
    pub message: String,
    /// A command that probably does what was meant.
    pub suggestion: Option<String>,
}

/// The subcommands that run from Slack; the others (import, demo, serve, …) are for the terminal.
pub const SLACK_COMMANDS: [&str; 5] = ["report", "abtest", "schedule", "alerts", "health"];

/// The `abtest` subcommands that run from Slack.
pub const SLACK_ABTEST_COMMANDS: [&str; 8] = [
    "new", "list", "show", "results", "plan", "calc", "start", "stop",
];

/// Whether the text asks for the help (`/vibe`, `/vibe help`), without parsing the rest.
pub fn is_help(text: &str) -> bool {
    let mut words = text.split_whitespace();
    matches!(
        (words.next(), words.next()),
        (None, _) | (Some("help" | "--help" | "-h"), None)
    )
}

/// Parses the text after `/vibe`.
pub fn parse(text: &str) -> Result<SlackCommand, CommandError> {
    let words = words(text).map_err(|message| CommandError {
        message,
        suggestion: None,
    })?;
    if words.len() == 2 && words[0] == "abtest" && words[1] == "new" {
        return Ok(SlackCommand::NewTestForm);
    }
    match words.first().map(String::as_str) {
        None | Some("help" | "--help" | "-h") => return Ok(SlackCommand::Help),
        Some(first) if !SLACK_COMMANDS.contains(&first) && is_cli_command(first) => {
            return Err(CommandError {
                message: format!("`{first}` runs in the terminal (`vibe {first}`), not in Slack."),
                suggestion: Some("/vibe help".into()),
            })
        }
        _ => {}
    }
    let argv = std::iter::once("vibe".to_string()).chain(words.iter().cloned());
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => return Err(clap_error(&e, &words)),
    };
    if cli.config.is_some() {
        return Err(CommandError {
            message: "`--config` only applies in the terminal.".into(),
            suggestion: None,
        });
    }
    check_slack_use(&cli.command)?;
    Ok(SlackCommand::Run(Box::new(cli.command)))
}

fn is_cli_command(name: &str) -> bool {
    Cli::command()
        .get_subcommands()
        .any(|c| c.get_name() == name)
}

/// Refuses the parts of the grammar that only make sense in a terminal.
fn check_slack_use(command: &Command) -> Result<(), CommandError> {
    let terminal_only = |what: &str| {
        Err(CommandError {
            message: format!("{what} only applies in the terminal."),
            suggestion: None,
        })
    };
    match command {
        Command::Report {
            output: Some(_), ..
        } => terminal_only("`--output`"),
        Command::Abtest {
            command:
                AbtestCommand::Import { .. } | AbtestCommand::Link { .. } | AbtestCommand::Check { .. },
            ..
        } => terminal_only("This `abtest` command"),
        Command::Abtest {
            command: AbtestCommand::New(a),
            ..
        } if a.by.is_some() => terminal_only("`--by`"),
        _ => Ok(()),
    }
}

/// Turns clap's message into a sentence for Slack, with clap's suggestion when it has one.
fn clap_error(e: &clap::Error, words: &[String]) -> CommandError {
    let rendered = e.render().to_string();
    let mut message = String::new();
    let mut suggestion = None;
    for line in rendered.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("error: ") {
            message = rest.to_string();
        } else if let Some(tip) = line.strip_prefix("tip: ") {
            // "a similar subcommand exists: 'report'"
            if let Some(name) = tip.split('\'').nth(1) {
                let mut fixed: Vec<String> = words.to_vec();
                if let Some(pos) = words
                    .iter()
                    .position(|w| rendered.contains(&format!("'{w}'")) && w.as_str() != name)
                {
                    fixed[pos] = name.to_string();
                    suggestion = Some(format!("/vibe {}", fixed.join(" ")));
                } else {
                    suggestion = Some(format!("/vibe {name}"));
                }
            }
        }
    }
    if message.is_empty() {
        message = rendered
            .lines()
            .next()
            .unwrap_or("not a command")
            .to_string();
    }
    // clap quotes with single quotes; Slack readers know backticks.
    let message = message.replace('\'', "`");
    CommandError {
        message: capitalise(&message),
        suggestion: suggestion.or_else(|| Some("/vibe help".into())),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => {
            f.to_uppercase().chain(c).collect::<String>() + if s.ends_with('.') { "" } else { "." }
        }
        None => String::new(),
    }
}

/// Splits command text into words: spaces separate, "double" or 'single' quotes group, and the
/// curly quotes Slack's clients type are quotes too.
pub fn words(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for ch in text.chars() {
        match quote {
            Some(q) => {
                if ch == q || (q == '“' && ch == '”') || (q == '‘' && ch == '’') {
                    quote = None;
                } else {
                    word.push(ch);
                }
            }
            None => match ch {
                '"' | '\'' | '“' | '‘' | '”' => {
                    quote = Some(if ch == '”' { '”' } else { ch });
                    in_word = true;
                }
                c if c.is_whitespace() => {
                    if in_word {
                        out.push(std::mem::take(&mut word));
                        in_word = false;
                    }
                }
                c => {
                    word.push(c);
                    in_word = true;
                }
            },
        }
    }
    if quote.is_some() {
        return Err("A quote is not closed.".into());
    }
    if in_word {
        out.push(word);
    }
    Ok(out)
}

/// One line of `/vibe help`: the command as typed and what it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpLine {
    pub usage: String,
    pub about: String,
}

/// The help, from the grammar: every command that runs in Slack with its arguments and the
/// first line of its documentation.
pub fn help_lines() -> Vec<HelpLine> {
    let root = Cli::command();
    let mut lines = Vec::new();
    for name in SLACK_COMMANDS {
        let Some(cmd) = root.find_subcommand(name) else {
            continue;
        };
        if name == "abtest" {
            for sub in SLACK_ABTEST_COMMANDS {
                if sub == "new" {
                    // Slack's form of `new` is a modal, or key=value words.
                    lines.push(HelpLine {
                        usage: "/vibe abtest new [name=… variants=A,B baseline=4% mde=10% …]"
                            .into(),
                        about: "Design an A/B test in a form, or give its fields as key=value"
                            .into(),
                    });
                } else if let Some(s) = cmd.find_subcommand(sub) {
                    lines.push(HelpLine {
                        usage: format!("/vibe abtest {sub}{}", positionals(s)),
                        about: about(s),
                    });
                }
            }
        } else {
            lines.push(HelpLine {
                usage: format!("/vibe {name}{}", positionals(cmd)),
                about: about(cmd),
            });
        }
    }
    lines
}

fn positionals(cmd: &clap::Command) -> String {
    let mut s = String::new();
    for arg in cmd.get_positionals() {
        let name = arg
            .get_value_names()
            .and_then(|v| v.first().map(|n| n.to_string()))
            .unwrap_or_else(|| arg.get_id().to_string().to_uppercase());
        let name = name.to_lowercase();
        let many = arg.get_num_args().is_some_and(|n| n.max_values() > 1);
        let dots = if many { "…" } else { "" };
        if arg.is_required_set() {
            s.push_str(&format!(" {name}{dots}"));
        } else {
            s.push_str(&format!(" [{name}]{dots}"));
        }
    }
    s
}

fn about(cmd: &clap::Command) -> String {
    let text = cmd.get_about().map(|a| a.to_string()).unwrap_or_default();
    let first = text
        .split(". ")
        .next()
        .unwrap_or(&text)
        .trim_end_matches('.');
    first.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::report::PeriodKind;
    use crate::domain::Platform;

    #[test]
    fn words_split_like_a_shell_with_slack_quotes() {
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            ("  report   weekly ", &["report", "weekly"]),
            (
                "abtest new --name \"Question hook\"",
                &["abtest", "new", "--name", "Question hook"],
            ),
            (
                "--name “Question hook” x",
                &["--name", "Question hook", "x"],
            ),
            ("--name ‘a b’", &["--name", "a b"]),
            ("a '' b", &["a", "", "b"]),
        ];
        for (text, want) in cases {
            assert_eq!(words(text).unwrap(), *want, "{text:?}");
        }
        assert!(words("report \"weekly").is_err());
    }

    fn run(text: &str) -> Command {
        match parse(text) {
            Ok(SlackCommand::Run(c)) => *c,
            other => panic!("{text:?}: {other:?}"),
        }
    }

    #[test]
    fn commands_parse_with_the_cli_grammar() {
        match run("report weekly instagram") {
            Command::Report { words, .. } => assert_eq!(words, ["weekly", "instagram"]),
            c => panic!("{c:?}"),
        }
        match run("report --period monthly") {
            Command::Report { period_flag, .. } => {
                assert_eq!(period_flag, Some(PeriodKind::Monthly))
            }
            c => panic!("{c:?}"),
        }
        assert!(matches!(run("alerts"), Command::Alerts { .. }));
        assert!(matches!(run("health"), Command::Health { .. }));
        assert!(matches!(
            run("abtest results 3"),
            Command::Abtest {
                command: AbtestCommand::Results { id: Some(3), .. },
                ..
            }
        ));
        assert!(matches!(
            run("abtest analyze 3"),
            Command::Abtest {
                command: AbtestCommand::Results { id: Some(3), .. },
                ..
            }
        ));
        let _ = Platform::X;
    }

    #[test]
    fn help_and_empty_text_show_help() {
        for text in ["", "help", "  --help ", "-h"] {
            assert!(matches!(parse(text), Ok(SlackCommand::Help)), "{text:?}");
            assert!(is_help(text), "{text:?}");
        }
        for text in ["report", "help report", "helpful", "abtest list"] {
            assert!(!is_help(text), "{text:?}");
        }
    }

    #[test]
    fn mistakes_get_a_message_and_a_suggestion() {
        let e = parse("reprot weekly").unwrap_err();
        assert!(e.message.contains("reprot"), "{e:?}");
        assert_eq!(e.suggestion.as_deref(), Some("/vibe report weekly"));

        let e = parse("abtest show").unwrap_err();
        assert!(e.message.to_lowercase().contains("required"), "{e:?}");

        let e = parse("abtest show seven").unwrap_err();
        assert!(e.message.contains("seven"), "{e:?}");

        let e = parse("import data.csv").unwrap_err();
        assert!(e.message.contains("terminal"), "{e:?}");

        let e = parse("report weekly -o x.html").unwrap_err();
        assert!(e.message.contains("--output"), "{e:?}");
    }

    #[test]
    fn help_is_generated_from_the_grammar() {
        let lines = help_lines();
        let usages: Vec<&str> = lines.iter().map(|l| l.usage.as_str()).collect();
        assert!(
            usages.contains(&"/vibe report [period|platform]…"),
            "{usages:?}"
        );
        assert!(usages.contains(&"/vibe abtest show id"), "{usages:?}");
        assert!(usages.contains(&"/vibe alerts"), "{usages:?}");
        assert!(lines.iter().all(|l| !l.about.is_empty()), "{lines:?}");
        // Every line names a command the parser accepts.
        for l in &lines {
            let first = l
                .usage
                .trim_start_matches("/vibe ")
                .split(' ')
                .next()
                .unwrap();
            assert!(SLACK_COMMANDS.contains(&first));
        }
    }
}
