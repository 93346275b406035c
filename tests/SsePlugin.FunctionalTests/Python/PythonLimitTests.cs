using Grpc.Core;
using SsePlugin.Client;
using SsePlugin.FunctionalTests.Infrastructure;
using SsePlugin.FunctionalTests.R;
using SsePlugin.Python;
using static SsePlugin.FunctionalTests.Infrastructure.SseCalls;

namespace SsePlugin.FunctionalTests.Python;

/// <summary>
/// The rules R follows, for Python: the time limit and Qlik's cancellation end a call's processes, memory is limited,
/// scripts run under ids of their own under a host running as root, a worker that dies is replaced, missing packages
/// are named.
/// </summary>
[Collection(SharedPythonHost.Name)]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class PythonLimitTests(PythonHostFixture python)
{
    private static readonly (string, SseDataType)[] OneNumber = [("x", SseDataType.Numeric)];

    [Fact]
    public async Task The_time_limit_ends_the_calls_process_and_what_it_started()
    {
        using var notes = new ScriptNotes();
        await using var host = await PythonHostFixture.StartHostAsync("--SsePlugin:Python:TimeoutSeconds", "2");
        var script = "import os, subprocess\nchild = subprocess.Popen(['sleep', '60'])\n"
            + notes.Write("pids", "[os.getpid(), child.pid]") + "\nwhile True: pass";

        var error = await FailsAsync(() => host.Client.EvaluateAsync(
            script, SseFunctionType.Scalar, SseDataType.Numeric, OneNumber, Bundle([Numeric(1)])));
        var pids = await notes.ReadAsync("pids");

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Equal(
            "ScriptEval: the Python script ran longer than the 2 s allowed per call (SsePlugin:Python:TimeoutSeconds); "
            + "its process was ended.",
            error.Status.Detail);
        Assert.True(await ProcessChecks.EndsAsync(pids[0]));
        Assert.True(await ProcessChecks.EndsAsync(pids[1]));
        await host.Client.AssertServesAsync();
    }

    [Fact]
    public async Task A_call_cancelled_by_the_client_ends_its_Python_process()
    {
        using var notes = new ScriptNotes();
        var script = new SseScript(
            "import os\n" + notes.Write("pid", "[os.getpid()]") + "\nwhile True: pass",
            SseFunctionType.Scalar, SseDataType.Numeric, []);
        using var cancel = new CancellationTokenSource();
        var call = python.Client.EvaluateAsync(script, [Bundle([[]])], options: null, cancel.Token);
        var pid = (await notes.ReadAsync("pid"))[0];
        await cancel.CancelAsync();

        var answer = await call;

        Assert.Equal(StatusCode.Cancelled, answer.StatusCode);
        Assert.True(await ProcessChecks.EndsAsync(pid));
    }

    [Fact]
    public async Task A_script_over_the_memory_limit_fails_with_ResourceExhausted_naming_the_setting()
    {
        await using var host = await PythonHostFixture.StartHostAsync(
            "--SsePlugin:Python:MemoryLimitMegabytes", "300");

        var error = await FailsAsync(() => host.Client.EvaluateAsync(
            "len(bytearray(1024 ** 3))", SseFunctionType.Scalar, SseDataType.Numeric, OneNumber, Bundle([Numeric(1)])));

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains("more memory than the 300 MB a call may use (SsePlugin:Python:MemoryLimitMegabytes)",
            error.Status.Detail);
        await host.Client.AssertServesAsync();
    }

    [Fact]
    public async Task A_script_cannot_write_more_than_the_temp_limit_into_its_temporary_folders()
    {
        Assert.True(Environment.IsPrivilegedProcess, "This test needs root: only a host running as root gives Python "
            + "calls temporary folders of their own (CI runs the tests as root).");
        await using var host = await PythonHostFixture.StartHostAsync("--SsePlugin:Python:TempLimitMegabytes", "8");

        // 6 MB in each of two folders: 12 MB, over the 8 the folders hold together.
        var error = await FailsAsync(() => host.Client.EvaluateAsync(
            "for folder in ('/tmp', '/dev/shm'):\n    open(f'{folder}/big', 'wb').write(bytes(6 * 1024 ** 2))\n"
            + "qResult = 1",
            SseFunctionType.Scalar, SseDataType.Numeric, OneNumber, Bundle([Numeric(1)])));
        var within = await host.Client.EvaluateAsync(
            "open('/tmp/small', 'wb').write(bytes(6 * 1024 ** 2))",
            SseFunctionType.Scalar, SseDataType.Numeric, OneNumber, Bundle([Numeric(1)]));

        Assert.Equal(
            "ScriptEval: Python error: OSError: [Errno 28] No space left on device; the temporary folders of a call "
            + "(/tmp, /var/tmp, /dev/shm...) hold at most 8 MB (SsePlugin:Python:TempLimitMegabytes)",
            error.Status.Detail);
        Assert.Equal([6 * 1024 * 1024], within.Numbers());
    }

    [Fact]
    public async Task Scripts_run_under_an_id_of_their_own_and_cannot_read_the_certificate_folder_or_reach_the_worker()
    {
        Assert.True(Environment.IsPrivilegedProcess, "This test needs root: only a host running as root runs Python "
            + "under ids of its own (CI runs the tests as root).");
        // A certificate folder as certs generate makes it: the owner's alone (not in /tmp: each call has its own).
        var certs = Directory.CreateDirectory(Path.Combine("/run", $"sseplugin-certs-{Guid.NewGuid():N}"));
        certs.UnixFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        var key = Path.Combine(certs.FullName, "plugin.key");
        await File.WriteAllTextAsync(key, "secret");

        // The id as the host sees it: the script's in its user namespace, which the map moves to the block.
        var uid = await python.Client.EvaluateAsync(
            "__import__('os').getuid() + int(open('/proc/self/uid_map').read().split()[1])",
            SseFunctionType.Scalar, SseDataType.Numeric, OneNumber, Bundle([Numeric(1)]));
        var read = await FailsAsync(() => python.Client.EvaluateAsync(
            $"open('{key}').read()", SseFunctionType.Scalar, SseDataType.String, OneNumber, Bundle([Numeric(1)])));
        var connect = await FailsAsync(() => python.Client.EvaluateAsync(
            "import os, socket\ns = socket.socket(socket.AF_UNIX)\n"
            + "s.connect(f'/proc/{os.getppid()}/cwd/worker.sock')\nqResult = 1",
            SseFunctionType.Scalar, SseDataType.Numeric, OneNumber, Bundle([Numeric(1)])));

        Assert.InRange(uid.Numbers()[0], 2_000_000_001, 2_000_000_000 + (16 * 65536));
        Assert.StartsWith(
            "ScriptEvalExStr: Python error: PermissionError: [Errno 13] Permission denied", read.Status.Detail);
        Assert.StartsWith(
            "ScriptEval: Python error: PermissionError: [Errno 13] Permission denied", connect.Status.Detail);
        certs.Delete(recursive: true);
    }

    [Fact]
    public async Task A_call_cannot_read_the_memory_or_environment_of_another_running_call()
    {
        using var notes = new ScriptNotes();
        var victim = python.Client.EvaluateAsync(
            "import os, time\n" + notes.Write("victim", "[os.getpid()]") + "\n"
            + $"while not os.path.exists({notes.Quoted("go")}): time.sleep(0.05)\nqResult = 1",
            SseFunctionType.Scalar, SseDataType.Numeric, OneNumber, Bundle([Numeric(1)]));
        var pid = (await notes.ReadAsync("victim"))[0];

        var environment = await FailsAsync(() => python.Client.EvaluateAsync(
            $"len(open('/proc/{pid}/environ', 'rb').read())", SseFunctionType.Scalar, SseDataType.Numeric, OneNumber,
            Bundle([Numeric(1)])));
        var memory = await FailsAsync(() => python.Client.EvaluateAsync(
            $"len(open('/proc/{pid}/mem', 'rb').read(1))", SseFunctionType.Scalar, SseDataType.Numeric, OneNumber,
            Bundle([Numeric(1)])));
        notes.Touch("go");

        Assert.StartsWith("ScriptEval: Python error: PermissionError", environment.Status.Detail);
        Assert.StartsWith("ScriptEval: Python error: PermissionError", memory.Status.Detail);
        var answer = await victim;
        Assert.Equal([1], answer.Numbers());
    }

    [Fact]
    public async Task A_worker_that_dies_is_replaced_and_calls_go_on()
    {
        await using var host = await PythonHostFixture.StartHostAsync();
        var worker = (int)(await host.Client.EvaluateAsync(
            "__import__('os').getppid()", SseFunctionType.Scalar, SseDataType.Numeric, OneNumber, Bundle([Numeric(1)])))
            .Numbers()[0];

        System.Diagnostics.Process.GetProcessById(worker).Kill();
        Assert.True(await ProcessChecks.EndsAsync(worker));
        var next = await host.Client.EvaluateAsync(
            "__import__('os').getppid()", SseFunctionType.Scalar, SseDataType.Numeric, OneNumber, Bundle([Numeric(1)]));

        Assert.NotEqual(worker, (int)next.Numbers()[0]);
    }

    [Fact]
    public async Task A_script_that_needs_numpy_or_pandas_where_they_are_missing_is_told_how_to_install_them()
    {
        // Python without its site packages: no numpy, no pandas.
        using var notes = new ScriptNotes();
        var wrapper = Path.Combine(Path.GetTempPath(), $"sseplugin-python-nosite-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(wrapper, $"#!/bin/sh\nexec {PythonHostFixture.Python} -S \"$@\"\n");
        File.SetUnixFileMode(wrapper, (UnixFileMode)0b111_101_101);
        try
        {
            await using var host = await PythonHostFixture.StartHostAsync("--SsePlugin:Python:Executable", wrapper);

            var plain = await host.Client.EvaluateAsync(
                "sum(args[0])", SseFunctionType.Aggregation, SseDataType.Numeric, OneNumber,
                Bundle([Numeric(1), Numeric(2)]));
            var numpy = await FailsAsync(() => host.Client.EvaluateAsync(
                "numpy.add(args[0], args[0])", SseFunctionType.Scalar, SseDataType.Numeric, OneNumber,
                Bundle([Numeric(1)])));
            var pandas = await FailsAsync(() => host.Client.EvaluateAsync(
                "qResult = q.x", SseFunctionType.Scalar, SseDataType.Numeric, OneNumber, Bundle([Numeric(1)])));

            Assert.Equal([3], plain.Numbers());
            Assert.Equal(
                "ScriptEval: Python error: ModuleNotFoundError: the script needs numpy, which is not installed where "
                + "SsePlugin runs Python: apt install python3-numpy, or pip install numpy",
                numpy.Status.Detail);
            Assert.Contains("apt install python3-pandas, or pip install pandas", pandas.Status.Detail);
        }
        finally
        {
            File.Delete(wrapper);
        }
    }

    [Fact]
    public async Task A_functions_file_function_in_Python_runs_on_a_JavaScript_connection()
    {
        using var notes = new ScriptNotes();
        var file = notes.File("functions.json", """
            { "Functions": [ { "Id": 400, "Name": "Doubled", "FunctionType": 2, "ReturnType": 1, "Engine": "python",
              "Params": { "v": 1 }, "Script": "args[0] * 2" } ] }
            """);
        await using var host = await TestHost.StartAsync(
            "--SsePlugin:Python:Executable", PythonHostFixture.Python, "--functions", file);

        var answer = await host.Client.ExecuteAsync(400, Bundle([Numeric(1), Numeric(2.5)]));

        Assert.Equal([2, 5], answer.Numbers());
    }

    [Fact]
    public async Task A_Python_that_cannot_be_started_stops_the_host_naming_the_setting()
    {
        var error = await Assert.ThrowsAsync<PythonWorkerException>(() => PythonHostFixture.StartHostAsync(
            "--SsePlugin:Python:Executable", "/nonexistent/python3"));

        Assert.StartsWith("Cannot start '/nonexistent/python3': no such program.", error.Message);
        Assert.Contains("SsePlugin:Python:Executable", error.Message);
    }
}
