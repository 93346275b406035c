using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;
using Microsoft.Extensions.Options;
using SsePlugin.Server.Hosting;

namespace SsePlugin.Host.Commands;

/// <summary>What the command line gives the host.</summary>
/// <param name="Switches">The settings of the switches given, e.g. <c>SsePlugin:Port</c> for <c>--port</c>.</param>
/// <param name="Settings">The <c>--Section:Key value</c> and <c>--Section:Key=value</c> arguments, as given.</param>
internal sealed record HostArguments(IReadOnlyDictionary<string, string?> Switches, IReadOnlyList<string> Settings);

/// <summary>
/// The executable's command line, with generated help (<c>--help</c>, <c>-h</c>, <c>-?</c>, <c>help</c>) and
/// <c>--version</c>: the host's switches, any setting as <c>--Section:Key value</c>, and the <c>certs</c>,
/// <c>doctor</c> and <c>call</c> commands. Switch names are read in any case, as configuration keys are; a switch given
/// more than once counts with its last value; a mistake is told in one line.
/// </summary>
internal sealed class HostCommandLine
{
    private const string SettingExample = "--SsePlugin:MaxConcurrentCalls 64";

    private const string Description = $"""
        Runs the plugin: Qlik calls it as an analytic connection (default 127.0.0.1:50051, plaintext unless --certs).
        Any setting can also be given as --Section:Key value ({SettingExample},
        --Serilog:MinimumLevel:Default Warning), in appsettings.json next to the executable or in the environment
        (SsePlugin__Port=50052); docs/configuration.md lists them all. A switch wins over its setting.
        """;

    private static readonly ValueKind WholeNumber = new("a whole number", value => TryReadWholeNumber(value, out _));

    private static readonly ValueKind TrueOrFalse = new("true or false", value => bool.TryParse(value, out _));

    private static readonly ValueKind Text = new("a value", value => !string.IsNullOrWhiteSpace(value));

    // An argument that starts with @ is a value (an Rserve password, say), not a file of arguments to read.
    private static readonly ParserConfiguration Parsing = new() { ResponseFileTokenReplacer = null };

    private readonly Command _root;

    private readonly HelpOption _help = new();

    // Each switch and the setting it gives.
    private readonly Dictionary<Option, string> _switches = [];

    // The --Section:Key value settings, hidden from the help (the commands' usage would show them too): the
    // description tells of them.
    private readonly Argument<string[]> _settings = new("settings") { Arity = ArgumentArity.ZeroOrMore, Hidden = true };

    /// <summary>Creates the command line.</summary>
    public HostCommandLine()
    {
        _root = new Command("SsePlugin.Host", Description)
        {
            _settings,
            _help,
            new VersionOption { Action = new PrintVersion() },
            CertsCommand.Create(),
            DoctorCommand.Create(),
            CallCommand.Create(),
        };
        _root.SetAction((parsed, _) => SsePluginHost.RunAsync(Arguments(parsed)));
        AddSwitch("--port", "N", "port to listen on (default 50051; 0: any free port)", "SsePlugin:Port", WholeNumber);
        AddSwitch("--bind", "ADDRESS", "address to listen on (default 127.0.0.1; 0.0.0.0: all)", "SsePlugin:Bind");
        AddSwitch("--certs", "DIR", "the plugin's certificate folder: mutual TLS only", "SsePlugin:Certs");
        AddSwitch(
            "--admin-port", "N", "the status page's and /metrics' port (default 50050; 0: any free port)",
            "SsePlugin:Admin:Port", WholeNumber);
        AddSwitch(
            "--admin-bind", "ADDRESS", "its address (default 127.0.0.1; beyond it a token is required)",
            "SsePlugin:Admin:Bind");
        AddSwitch("--functions-folder", "DIR", "folder of function assemblies to load", "SsePlugin:FunctionsFolder");
        AddSwitch("--functions", "FILE", "JSON file of functions written as scripts", "SsePlugin:FunctionsFile");
        AddSwitch(
            "--allow-script", "true|false", "whether Qlik's scripts run (default true)", "SsePlugin:AllowScript",
            TrueOrFalse);
        AddSwitch(
            "--script-engine", "javascript|r|python", "the engine of scripts (default javascript)",
            "SsePlugin:ScriptEngine");
        AddSwitch(
            "--examples", "true|false", "serve the examples (default: unless functions are given)",
            $"{SsePluginOptions.Section}:{SsePluginHost.ExamplesSetting}", TrueOrFalse);
        AddSwitch("--rserve", "HOST:PORT", "Rserve's address (default 127.0.0.1:6311)", "SsePlugin:Rserve:Address");
        var startRserve = SwitchOption("--start-rserve", "the host runs Rserve itself on loopback");
        _root.Options.Add(startRserve);
        _switches[startRserve] = "SsePlugin:Rserve:Start";
        AddSwitch(
            "--shutdownTimeoutSeconds", "N", "how long a stop waits for running calls (default 30)",
            "shutdownTimeoutSeconds", WholeNumber);
        AddSwitch("--environment", "NAME", "reads appsettings.NAME.json too (default Production)", "environment");
        _settings.Validators.Add(result =>
        {
            foreach (var problem in SettingProblems(result.Tokens))
            {
                result.AddError(problem);
            }
        });
    }

    /// <summary>Runs the command line: prints the help or the version, runs a command or the host.</summary>
    /// <param name="args">The arguments.</param>
    /// <param name="output">Where to print.</param>
    /// <param name="errors">Where to print the mistake of a wrong command line (default: <paramref name="output"/>).
    /// </param>
    /// <param name="cancellationToken">Stops a command.</param>
    /// <returns>The exit code; <see cref="ExitCodes.Usage"/> for a wrong command line, after its mistake and the help.
    /// </returns>
    public async Task<int> InvokeAsync(
        IReadOnlyList<string> args,
        TextWriter output,
        TextWriter? errors = null,
        CancellationToken cancellationToken = default)
    {
        var (parsed, mistake) = Read(args);
        var invocation = new InvocationConfiguration
        {
            Output = output,
            Error = errors ?? output,

            // The host stops by itself on Ctrl+C and SIGTERM, after its running calls.
            ProcessTerminationTimeout = null,
            EnableDefaultExceptionHandler = false,
        };

        // Asked for, the help is printed whatever else is wrong.
        if (mistake is null || parsed.Action is HelpAction)
        {
            return await parsed.InvokeAsync(invocation, cancellationToken).ConfigureAwait(false);
        }

        await invocation.Error.WriteLineAsync(mistake).ConfigureAwait(false);
        ServiceEventLog.Report(mistake);
        await _root.Parse([.. CommandPath(parsed.CommandResult), _help.Name], Parsing)
            .InvokeAsync(invocation, cancellationToken).ConfigureAwait(false);
        return ExitCodes.Usage;
    }

    /// <summary>Reads the host's arguments.</summary>
    /// <exception cref="OptionsValidationException">The command line is wrong; its message names the mistake.
    /// </exception>
    internal HostArguments Parse(IReadOnlyList<string> args)
    {
        var (parsed, mistake) = Read(args);
        return mistake is null
            ? Arguments(parsed)
            : throw new OptionsValidationException(SsePluginOptions.Section, typeof(SsePluginOptions), [mistake]);
    }

    /// <summary>An option that takes a text, not an empty one; given more than once, it counts with its last.</summary>
    internal static Option<string> TextOption(string name, string helpName, string description) =>
        ValueOption(name, helpName, description, Text);

    /// <summary>An option that takes a whole number from <paramref name="min"/> to <paramref name="max"/>; given more
    /// than once, it counts with its last.</summary>
    internal static Option<int> NumberOption(
        string name, string helpName, string description, int fallback, int min, int max)
    {
        var option = LastValueOption(name, helpName, description, (result, value) =>
            TryReadWholeNumber(value, out var number) && number >= min && number <= max
                ? number
                : Refuse(result, name, $"a whole number from {min} to {max}", value, fallback));
        option.DefaultValueFactory = _ => fallback;
        return option;
    }

    /// <summary>A switch that needs no value (<c>--force</c>), or takes true or false; the last given counts.</summary>
    internal static Option<bool> SwitchOption(string name, string description) => new(name)
    {
        Description = description,

        // At most one value per use, as for the other options.
        Arity = ArgumentArity.ZeroOrMore,
        CustomParser = result => result.Tokens is not [.., { Value: var value }]
            || (bool.TryParse(value, out var on) ? on : Refuse(result, name, TrueOrFalse.Expected, value, false)),
    };

    private static bool TryReadWholeNumber(string text, out int number) =>
        int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out number);

    private static Option<string> ValueOption(string name, string helpName, string description, ValueKind? kind) =>
        LastValueOption(name, helpName, description, (result, value) =>
            kind is null || kind.Accepts(value) ? value : Refuse(result, name, kind.Expected, value, value));

    private static Option<T> LastValueOption<T>(
        string name, string helpName, string description, Func<ArgumentResult, string, T> read) => new(name)
    {
        HelpName = helpName,
        Description = description,

        // One value per use; Prepare has made sure that each use has one.
        Arity = ArgumentArity.OneOrMore,
        CustomParser = result => read(result, result.Tokens[^1].Value),
    };

    private static T Refuse<T>(ArgumentResult result, string name, string expected, string value, T fallback)
    {
        result.AddError(
            $"{name} takes {expected}, not {(string.IsNullOrWhiteSpace(value) ? "an empty text" : value)}.");
        return fallback;
    }

    // The names of the commands from the root to this one, the root left out: certs generate.
    private static string[] CommandPath(CommandResult result) =>
        result.Parent is CommandResult parent ? [.. CommandPath(parent), result.Command.Name] : [];

    private static bool IsValue(string? argument) =>
        argument is not null && !argument.StartsWith("--", StringComparison.Ordinal);

    // Whether a switch takes the value after it: always when the command has no arguments of its own (the parser
    // would count them with the switch), else only true or false (call --json SumOfRows: the function's name).
    private static bool TakesValue(Command command, string value) =>
        command.Arguments.All(a => a.Hidden) || TrueOrFalse.Accepts(value);

    private static Command? Subcommand(Command command, string name) =>
        command.Subcommands.FirstOrDefault(c => c.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    // The parser's own errors are several lines in its words, or none where the host needs one; each mistake it can
    // make is told here first, in one line. --version's complaint of other arguments comes after their own mistakes.
    private static string? Mistake(ParseResult parsed)
    {
        var command = parsed.CommandResult.Command;
        var name = string.Join(" ", CommandPath(parsed.CommandResult));
        if (parsed.UnmatchedTokens is [var unknown, ..])
        {
            return unknown.StartsWith('-')
                ? $"{unknown}: no such option of {name}; the options are "
                    + $"{string.Join(", ", command.Options.Select(o => o.Name))}."
                : command.Subcommands.Count > 0
                    ? $"{unknown}: no such command of {name}; the command is {Commands(name, command)}."
                    : $"'{unknown}' is not an option of {name}; write options as --name value (see {name} --help).";
        }

        if (command is { Action: null, Subcommands.Count: > 0 })
        {
            return $"{name} needs its command: {Commands(name, command)}.";
        }

        var missing = command.Options.FirstOrDefault(o => o.Required && parsed.GetResult(o) is not { Implicit: false });
        return missing is not null
            ? $"{name} needs {missing.Name} {missing.HelpName}."
            : parsed.Errors.OrderBy(e => e.SymbolResult is OptionResult { Option: VersionOption })
                .FirstOrDefault()?.Message;
    }

    private static string Commands(string name, Command command) =>
        string.Join(", ", command.Subcommands.Select(c => $"{name} {c.Name}"));

    private (ParseResult Parsed, string? Mistake) Read(IReadOnlyList<string> args)
    {
        var (prepared, mistake) = Prepare(args);
        var parsed = _root.Parse(prepared, Parsing);
        return (parsed, mistake ?? Mistake(parsed));
    }

    // Reads what the parser reads otherwise: a switch's name in any case (--Port); a switch without its value, also
    // when it is given twice (--port 0 --port), which the parser would count with the other; the word help; and a
    // setting's or a switch's value that is a command's name (--SsePlugin:Alias doctor), which the parser would run.
    private (List<string> Arguments, string? Mistake) Prepare(IReadOnlyList<string> args)
    {
        var prepared = new List<string>(args.Count);
        string? mistake = null;
        var command = _root;
        for (var i = 0; i < args.Count; i++)
        {
            var argument = args[i];
            var next = i + 1 < args.Count ? args[i + 1] : null;
            if (IsValue(argument))
            {
                var subcommand = Subcommand(command, argument);
                command = subcommand ?? command;
                prepared.Add(
                    subcommand?.Name
                        ?? (argument.Equals("help", StringComparison.OrdinalIgnoreCase) ? _help.Name : argument));
                continue;
            }

            var name = argument.Split('=')[0];
            var option = command.Options.Append(_help)
                .FirstOrDefault(o => o.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
            var hasValue = name != argument;
            if (option is null)
            {
                // A setting: ASP.NET Core's command-line configuration reads --Section:Key=value as --Section:Key
                // value.
                var isSetting = command == _root && name.Contains(':', StringComparison.Ordinal);
                prepared.Add(isSetting && !hasValue && IsValue(next) ? $"{argument}={args[++i]}" : argument);
                continue;
            }

            prepared.Add(option.Name + argument[name.Length..]);
            if (hasValue || option is HelpOption)
            {
                continue;
            }

            var needsValue = option.Arity.MinimumNumberOfValues > 0;
            if (needsValue && !IsValue(next))
            {
                mistake ??= $"{option.Name} needs a value" + (next is null ? "." : $"; {next} is an option.");
            }
            else if (needsValue || (IsValue(next) && Subcommand(command, next!) is null && TakesValue(command, next!)))
            {
                // A value that names a command stays the switch's value.
                var value = args[++i];
                if (Subcommand(command, value) is null)
                {
                    prepared.Add(value);
                }
                else
                {
                    prepared[^1] = $"{option.Name}={value}";
                }

                mistake ??= needsValue || TrueOrFalse.Accepts(value)
                    ? null
                    : $"{option.Name} takes {TrueOrFalse.Expected}, not {value}.";
            }
        }

        return (prepared, mistake);
    }

    private void AddSwitch(string name, string helpName, string description, string setting, ValueKind? kind = null)
    {
        var option = ValueOption(name, helpName, description, kind);
        _root.Options.Add(option);
        _switches[option] = setting;
    }

    private HostArguments Arguments(ParseResult parsed) => new(
        _switches
            .Select(s => (Setting: s.Value, Given: parsed.GetResult(s.Key)))
            .Where(s => s.Given is { Implicit: false })
            .ToDictionary(
                s => s.Setting,
                s => Convert.ToString(s.Given!.GetValueOrDefault<object>(), CultureInfo.InvariantCulture)),
        parsed.GetValue(_settings) ?? []);

    // Each setting is --Section:Key value or --Section:Key=value, as ASP.NET Core's command-line configuration reads
    // it.
    private IEnumerable<string> SettingProblems(IReadOnlyList<Token> tokens)
    {
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i].Value;
            if (!token.StartsWith("--", StringComparison.Ordinal))
            {
                yield return $"'{token}' is neither a command (certs, doctor, call) nor an option; "
                    + "write options as --name value (see --help).";
                continue;
            }

            var name = token.Split('=')[0];
            var hasValue = name != token;
            if (!hasValue && i + 1 < tokens.Count && IsValue(tokens[i + 1].Value))
            {
                hasValue = true;
                i++;
            }

            if (!name.Contains(':', StringComparison.Ordinal))
            {
                yield return $"{name}: no such option. The options are "
                    + $"{string.Join(", ", _switches.Keys.Select(o => o.Name))}; "
                    + $"any setting is also --Section:Key value (e.g. {SettingExample}).";
            }
            else if (!hasValue)
            {
                yield return $"{token} needs a value.";
            }
        }
    }

    private sealed record ValueKind(string Expected, Func<string, bool> Accepts);

    private sealed class PrintVersion : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            parseResult.InvocationConfiguration.Output.WriteLine(SsePluginHost.Version);
            return ExitCodes.Ok;
        }
    }
}
