using System.Collections.Concurrent;
using System.CommandLine;
using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Authentication;
using Grpc.Core;
using SsePlugin.Client;
using SsePlugin.Server.Security;

namespace SsePlugin.Host.Commands;

/// <summary>
/// <c>call</c>: the Qlik engine in a terminal. Calls a function of any SSE plugin as Qlik does (GetCapabilities, then
/// the call with its binary headers and bundles of duals), or one of Qlik's script functions, and prints the answer;
/// with <c>--rows</c>, <c>--repeat</c> or <c>--parallel</c>, a load test and its summary.
/// </summary>
internal static class CallCommand
{
    private const string Description = """
        Calls a plugin's function (any SSE plugin) as the Qlik engine does and prints the answer, its qlik-cache
        header and its table description. Arguments are one row: numbers (12.5; nothing or null for null), texts, and
        duals as number|text. --csv FILE gives rows instead, its first line naming the columns. --rows, --repeat and
        --parallel make it a load test. Exit code 0: the call succeeded; 1: it failed; 2: wrong arguments.
        """;

    private const int RowsPerBundle = 1000;

    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    // Qlik's script functions that call sends: each makes its script call from the script and parameter names.
    private static readonly Dictionary<string, Func<string, string[], SseScript>> ScriptFunctions =
        new(StringComparer.OrdinalIgnoreCase)
        {
            ["ScriptEval"] = SseScript.Eval,
            ["ScriptEvalStr"] = SseScript.EvalStr,
            ["ScriptAggr"] = SseScript.Aggr,
            ["ScriptAggrStr"] = SseScript.AggrStr,
        };

    // Those whose parameters are each of its own type (--types, Qlik's first parameter): duals reach the script.
    private static readonly Dictionary<string, Func<string, SseParameter[], SseScript>> TypedScriptFunctions =
        new(StringComparer.OrdinalIgnoreCase)
        {
            ["ScriptEvalEx"] = SseScript.EvalEx,
            ["ScriptEvalExStr"] = SseScript.EvalExStr,
            ["ScriptAggrEx"] = SseScript.AggrEx,
            ["ScriptAggrExStr"] = SseScript.AggrExStr,
        };

    /// <summary>Creates the <c>call</c> command.</summary>
    public static Command Create()
    {
        var host = HostCommandLine.TextOption("--host", "HOST", "the plugin's host name or address");
        host.Required = true;
        var port = HostCommandLine.NumberOption("--port", "PORT", "the plugin's port", 50051, 1, 65535);
        var certs = HostCommandLine.TextOption(
            "--certs", "DIR", "Qlik's certificate folder, for mutual TLS (leave out for plaintext)");
        var csv = HostCommandLine.TextOption("--csv", "FILE", "rows from a CSV file, its first line the column names");
        var script = HostCommandLine.TextOption("--script", "TEXT", "a script, e.g. 'args[0] * 2', sent as Qlik does");
        var function = HostCommandLine.TextOption(
            "--function",
            "NAME",
            "with --script, the script function: ScriptEval (default), ScriptEvalStr, ScriptAggr, ScriptAggrStr, "
                + "or with --types ScriptEvalEx, ScriptEvalExStr, ScriptAggrEx, ScriptAggrExStr");
        function.DefaultValueFactory = _ => "ScriptEval";
        var types = HostCommandLine.TextOption(
            "--types",
            "NSD",
            "with an Ex script function, each argument's type, as Qlik's first parameter: N number, S string, D dual");
        var json = HostCommandLine.SwitchOption("--json", "prints JSON for machines");
        var rows = HostCommandLine.NumberOption(
            "--rows", "N", "load test: rows per call, repeating those given (default: as many)", 0, 1, 10_000_000);
        rows.DefaultValueFactory = null;
        var repeat = HostCommandLine.NumberOption(
            "--repeat", "K", "load test: calls to make", 1, 1, 10_000_000);
        var parallel = HostCommandLine.NumberOption(
            "--parallel", "P", "load test: calls at a time", 1, 1, 10_000);
        var call = new Argument<string[]>("NAME [ARGS]")
        {
            Arity = ArgumentArity.ZeroOrMore,
            Description = "the function's name, then one argument per parameter (with --script: the arguments only)",
        };
        var command = new Command("call", Description)
        {
            host, port, certs, csv, script, function, types, json, rows, repeat, parallel, call,
        };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            var given = parsed.GetValue(call) ?? [];
            var scriptText = parsed.GetValue(script);
            var isLoadTest = new Option[] { rows, repeat, parallel }
                .Any(o => parsed.GetResult(o) is { Implicit: false });
            var load = new LoadTest(parsed.GetValue(rows), parsed.GetValue(repeat), parsed.GetValue(parallel));
            var request = new CallRequest(
                parsed.GetRequiredValue(host),
                parsed.GetValue(port),
                parsed.GetValue(certs),
                scriptText is null ? given.FirstOrDefault() : parsed.GetRequiredValue(function),
                scriptText,
                parsed.GetValue(types),
                scriptText is null ? [.. given.Skip(1)] : given,
                parsed.GetValue(csv),
                parsed.GetValue(json),
                isLoadTest ? load : null);
            var output = parsed.InvocationConfiguration.Output;
            try
            {
                var progress = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
                return await RunAsync(request, output, progress, cancellationToken).ConfigureAwait(false);
            }
            catch (CallException e)
            {
                await parsed.InvocationConfiguration.Error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
                return e.ExitCode;
            }
        });
        return command;
    }

    private static async Task<int> RunAsync(
        CallRequest request, TextWriter output, bool progress, CancellationToken cancellationToken)
    {
        if (request.Name is null)
        {
            throw new CallException(
                "call needs the function's name. Fix: write it after the options, e.g. call --host H SumOfRows 1 2.",
                ExitCodes.Usage);
        }

        using var client = Connect(request);
        var capabilities = await CapabilitiesAsync(client, request, cancellationToken).ConfigureAwait(false);
        var target = FindTarget(capabilities, request);
        var rows = Rows(request, target.Parameters);
        var rowsPerCall = request.Load is { Rows: > 0 } given ? given.Rows : rows.Count;
        var call = Call(client, target, rows, rowsPerCall);
        if (request.Load is { } load)
        {
            var summary = await LoadTestAsync(call, load, rowsPerCall, output, progress, cancellationToken)
                .ConfigureAwait(false);
            CallOutput.Summary(output, summary, request.Json);
            return summary.Failures.Count == 0 ? ExitCodes.Ok : ExitCodes.Problem;
        }

        var answer = await call(cancellationToken).ConfigureAwait(false);
        if (request.Json)
        {
            CallOutput.Json(output, target.Name, target.ReturnType, answer);
        }
        else if (answer.Succeeded)
        {
            CallOutput.Table(output, target.Name, target.ReturnType, answer);
        }

        return answer.Succeeded
            ? ExitCodes.Ok
            : throw new CallException($"{target.Name} failed with {answer.StatusCode}: {answer.Status.Detail} "
                + "Fix: that message is the plugin's; its log tells more.");
    }

    private static SseClient Connect(CallRequest request)
    {
        if (request.Certs is null)
        {
            return new SseClient(new UriBuilder(Uri.UriSchemeHttp, request.Host, request.Port).Uri);
        }

        CertificateFolder folder;
        try
        {
            folder = CertificateFolder.Load(request.Certs, CertificateSide.Qlik);
        }
        catch (CertificateFolderException e)
        {
            throw new CallException($"{e.Directory}: {string.Join(" ", e.Problems)} Fix: give --certs Qlik's folder "
                + $"({string.Join(", ", CertificateSide.Qlik.Files)}), which `certs generate` writes.",
                ExitCodes.Usage);
        }

        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = ConnectTimeout,
            SslOptions = folder.ClientOptions(request.Host),
        };
        return new SseClient(new UriBuilder(Uri.UriSchemeHttps, request.Host, request.Port).Uri, handler);
    }

    private static async Task<SseCapabilities> CapabilitiesAsync(
        SseClient client, CallRequest request, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ConnectTimeout);
        try
        {
            return await client.GetCapabilitiesAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new CallException(ConnectionProblem(request, e));
        }
    }

    // Why GetCapabilities failed, and what to do: the doctor (SsePlugin.Host doctor) tells more.
    private static string ConnectionProblem(CallRequest request, RpcException e)
    {
        var endpoint = $"{request.Host}:{request.Port}";
        var causes = Causes(e.Status.DebugException).ToList();
        var socket = causes.OfType<SocketException>().FirstOrDefault();
        if (socket?.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return $"Cannot connect to {endpoint}: nothing listens there (connection refused). Fix: start the plugin "
                + "on that port, or give the --host and --port it listens on.";
        }

        if (socket is not null)
        {
            return $"Cannot connect to {endpoint}: {socket.Message}. Fix: check the host, the port and the firewalls "
                + "in between.";
        }

        if (request.Certs is not null && causes.Any(c => c is AuthenticationException or IOException))
        {
            return $"TLS refused: {endpoint} and the certificates in {request.Certs} did not agree "
                + $"({causes.Last().Message}). Fix: give --certs the qlik folder made together with the plugin's, or "
                + "leave --certs out if the plugin runs without TLS; the doctor tells which.";
        }

        return e.StatusCode switch
        {
            // A TLS plugin called in plaintext ends the HTTP/2 connection: UNAVAILABLE or INTERNAL, as it happens.
            StatusCode.Unavailable or StatusCode.Internal when request.Certs is null =>
                $"Cannot call {endpoint} in plaintext: {e.Status.Detail} Fix: if the plugin runs with certificates, "
                + "give --certs Qlik's certificate folder; the doctor tells which.",
            StatusCode.Cancelled or StatusCode.DeadlineExceeded =>
                $"{endpoint} did not answer GetCapabilities in {ConnectTimeout.TotalSeconds:0} s. Fix: check that "
                + "the plugin runs there and that no firewall drops the connection.",
            StatusCode.Unimplemented =>
                $"{endpoint} is a gRPC server but not an SSE plugin. Fix: give the plugin's port.",
            _ => $"GetCapabilities failed with {e.StatusCode}: {e.Status.Detail} Fix: see the plugin's log.",
        };
    }

    private static IEnumerable<Exception> Causes(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            yield return e;
        }
    }

    // The function to call: a script function with --script, else the plugin's function of that name.
    private static Target FindTarget(SseCapabilities capabilities, CallRequest request)
    {
        var name = request.Name!;
        if (request.Script is { } script)
        {
            var scriptCall = ScriptCall(name, script, request.Types);
            if (!capabilities.AllowScript)
            {
                throw new CallException($"The plugin '{capabilities.PluginIdentifier}' does not allow scripts. Fix: "
                    + "allow them in the plugin (SsePlugin: --allow-script true), or call one of its functions.");
            }

            // Qlik names a script's parameters after its fields: here the CSV's columns, else arg1, arg2, ...
            string[] names = request.Csv is null
                ? [.. Enumerable.Range(1, request.Arguments.Count).Select(i => $"arg{i}")]
                : [.. CallInput.CsvColumns(request.Csv).Select(column => column.Trim())];
            var header = scriptCall(names);
            return new Target(name, header.ReturnType, header.Parameters, header, Id: 0);
        }

        var function = capabilities.Functions.FirstOrDefault(f => f.Name == name)
            ?? capabilities.Functions.SingleOrDefault(f => f.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
        if (function is null)
        {
            var hint = ScriptFunctions.ContainsKey(name) || TypedScriptFunctions.ContainsKey(name)
                ? $" {name} is a script function: give the script with --script and the function with --function."
                : string.Empty;
            throw new CallException($"The plugin '{capabilities.PluginIdentifier}' offers no function '{name}'; "
                + Close(name, capabilities.Functions.Select(f => f.Name)) + hint
                + " Fix: use one of its names (the doctor lists them), in the same case.");
        }

        return new Target(function.Name, function.ReturnType, function.Parameters, Script: null, function.Id);
    }

    // The script call of a script function, from its parameters' names: typed by --types for the Ex functions.
    private static Func<string[], SseScript> ScriptCall(string name, string script, string? types)
    {
        if (ScriptFunctions.TryGetValue(name, out var plain))
        {
            return types is null
                ? names => plain(script, names)
                : throw new CallException($"--types {types}: {name} types its parameters itself. Fix: leave --types "
                    + $"out, or call one of {string.Join(", ", TypedScriptFunctions.Keys)}.", ExitCodes.Usage);
        }

        if (!TypedScriptFunctions.TryGetValue(name, out var typed))
        {
            throw new CallException($"--function {name}: not a script function call knows. Fix: use one of "
                + $"{string.Join(", ", ScriptFunctions.Keys.Concat(TypedScriptFunctions.Keys))}.", ExitCodes.Usage);
        }

        if (types is null)
        {
            throw new CallException($"{name} needs each argument's type, as Qlik's first parameter of {name}. Fix: "
                + "give --types with a letter per argument: N number, S string, D dual (e.g. --types NSD).",
                ExitCodes.Usage);
        }

        return names => typed(script, [.. names.Select((parameterName, i) => new SseParameter(
            parameterName, TypeOf(types, i, names.Length)))]);
    }

    // The type letter of Qlik's Ex script functions for one parameter.
    private static SseDataType TypeOf(string types, int parameter, int count) =>
        types.Length != count
            ? throw new CallException($"--types {types}: {types.Length} types for {count} arguments. Fix: give one "
                + "letter per argument.", ExitCodes.Usage)
            : char.ToUpperInvariant(types[parameter]) switch
            {
                'N' => SseDataType.Numeric,
                'S' => SseDataType.String,
                'D' => SseDataType.Dual,
                var letter => throw new CallException($"--types {types}: '{letter}' is not a type. Fix: N (number), "
                    + "S (string) or D (dual), one per argument.", ExitCodes.Usage),
            };

    // The names closest to a mistyped one, or all of them when none is close.
    private static string Close(string name, IEnumerable<string> names)
    {
        var all = names.ToList();
        if (all.Count == 0)
        {
            return "it offers none.";
        }

        var close = all.Select(n => (Name: n, Distance: Distance(name.ToUpperInvariant(), n.ToUpperInvariant())))
            .Where(n => n.Distance <= Math.Max(2, name.Length / 3)
                || n.Name.Contains(name, StringComparison.OrdinalIgnoreCase))
            .OrderBy(n => n.Distance)
            .Select(n => n.Name)
            .Take(5)
            .ToList();
        return close.Count > 0
            ? $"close names: {string.Join(", ", close)}."
            : $"it offers {string.Join(", ", all.Take(10))}{(all.Count > 10 ? ", ..." : string.Empty)}.";
    }

    // The edit distance of two names (Levenshtein).
    private static int Distance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }

            previous = current;
        }

        return previous[b.Length];
    }

    // The rows to send: the command line's one row, or the CSV file's.
    private static List<SseValue[]> Rows(CallRequest request, IReadOnlyList<SseParameter> parameters)
    {
        if (request.Csv is null)
        {
            if (request.Arguments.Count != parameters.Count)
            {
                throw CallInput.BadArgument(
                    $"{request.Arguments.Count} given",
                    $"{request.Name} takes {parameters.Count} arguments "
                        + $"({string.Join(", ", parameters.Select(p => $"{p.Name} {p.DataType}"))})",
                    "give one argument per parameter, or --csv FILE");
            }

            return [[.. parameters.Select((p, i) => CallInput.Value(request.Arguments[i], p, $"argument {i + 1}"))]];
        }

        if (request.Arguments.Count > 0)
        {
            throw new CallException(
                $"--csv {request.Csv} gives the rows, and so do the arguments {string.Join(" ", request.Arguments)}. "
                + "Fix: give one or the other.", ExitCodes.Usage);
        }

        return CallInput.ReadCsv(request.Csv, parameters);
    }

    // One call with the rows (repeated to rowsPerCall when given), in bundles as Qlik sends them.
    private static Func<CancellationToken, Task<SseAnswer>> Call(
        SseClient client, Target target, List<SseValue[]> rows, int rowsPerCall)
    {
        if (rowsPerCall > rows.Count && rows.Count == 0)
        {
            throw new CallException("There are no rows to repeat. Fix: give the arguments of one row, or a CSV file "
                + "with rows.", ExitCodes.Usage);
        }

        var bundles = SseBundle.Split(
            Enumerable.Range(0, rowsPerCall).Select(i => rows[i % rows.Count]), RowsPerBundle);
        return target.Script is { } script
            ? token => client.EvaluateAsync(script, [.. bundles], options: null, token)
            : token => client.ExecuteAsync(target.Id, [.. bundles], options: null, token);
    }

    private static async Task<LoadSummary> LoadTestAsync(
        Func<CancellationToken, Task<SseAnswer>> call,
        LoadTest load,
        int rowsPerCall,
        TextWriter output,
        bool progress,
        CancellationToken cancellationToken)
    {
        var latencies = new double[load.Repeat];
        var failures = new ConcurrentDictionary<StatusCode, int>();
        var next = -1;
        var done = 0;
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, Math.Min(load.Parallel, load.Repeat)).Select(_ => Task.Run(
            async () =>
            {
                int index;
                while ((index = Interlocked.Increment(ref next)) < load.Repeat)
                {
                    var started = Stopwatch.GetTimestamp();
                    var answer = await call(cancellationToken).ConfigureAwait(false);
                    latencies[index] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    if (!answer.Succeeded)
                    {
                        failures.AddOrUpdate(answer.StatusCode, 1, (_, n) => n + 1);
                    }

                    Interlocked.Increment(ref done);
                }
            },
            cancellationToken)).ToList();
        var all = Task.WhenAll(workers);
        while (progress && await Task.WhenAny(all, Task.Delay(200, cancellationToken)).ConfigureAwait(false) != all)
        {
            ProgressBar(output, Volatile.Read(ref done), load.Repeat);
        }

        await all.ConfigureAwait(false);
        clock.Stop();
        if (progress)
        {
            ProgressBar(output, load.Repeat, load.Repeat);
            output.WriteLine();
        }

        Array.Sort(latencies);
        return new LoadSummary(load.Repeat, failures, (long)rowsPerCall * load.Repeat, clock.Elapsed, latencies);
    }

    private static void ProgressBar(TextWriter output, int done, int total)
    {
        const int Width = 40;
        var filled = (int)((long)done * Width / total);
        output.Write($"\r[{new string('#', filled)}{new string(' ', Width - filled)}] {done}/{total} calls");
        output.Flush();
    }

    private sealed record CallRequest(
        string Host,
        int Port,
        string? Certs,
        string? Name,
        string? Script,
        string? Types,
        IReadOnlyList<string> Arguments,
        string? Csv,
        bool Json,
        LoadTest? Load);

    private sealed record LoadTest(int Rows, int Repeat, int Parallel);

    private sealed record Target(
        string Name, SseDataType ReturnType, IReadOnlyList<SseParameter> Parameters, SseScript? Script, int Id);
}
