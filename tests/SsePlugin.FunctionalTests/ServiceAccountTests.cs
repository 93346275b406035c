using System.Globalization;
using System.Runtime.Versioning;
using SsePlugin.FunctionalTests.Infrastructure;

namespace SsePlugin.FunctionalTests;

/// <summary>
/// A host started by a service account without the rights it needs (a port only a privileged account may bind, a
/// configuration file it may not read) stops with one line naming what it cannot use, and exit code 2.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class ServiceAccountTests
{
    [Fact]
    public async Task A_port_the_account_may_not_bind_stops_the_executable_with_one_clear_line()
    {
        // Linux lets only privileged accounts bind ports below this one (1024 unless lowered).
        var firstFree = int.Parse(
            File.ReadAllText("/proc/sys/net/ipv4/ip_unprivileged_port_start"), CultureInfo.InvariantCulture);
        Assert.True(
            firstFree > 1,
            "This machine lets every account listen on every port (net.ipv4.ip_unprivileged_port_start is "
                + $"{firstFree}), so no port is refused to a service account and this test cannot run here.");
        var port = Math.Min(80, firstFree - 1).ToString(CultureInfo.InvariantCulture);

        var (exitCode, printed) = await HostProcess.RunUnprivilegedToExitAsync("--port", port);

        Assert.Equal(2, exitCode);
        Assert.Contains(
            $"The host may not listen on 127.0.0.1:{port}: permission denied. Fix: give it a port", printed);
        Assert.DoesNotContain("   at ", printed);
    }

    [Fact]
    public async Task A_settings_file_the_account_may_not_read_stops_the_executable_with_one_clear_line()
    {
        // appsettings.NAME.json lies next to appsettings.json, in the executable's folder.
        var file = Path.Combine(AppContext.BaseDirectory, "appsettings.Unreadable.json");
        await File.WriteAllTextAsync(file, """{ "SsePlugin": { "Port": 0 } }""");
        File.SetUnixFileMode(file, UnixFileMode.None);
        try
        {
            var (exitCode, printed) = await HostProcess.RunUnprivilegedToExitAsync("--environment", "Unreadable");

            Assert.Equal(2, exitCode);
            Assert.Contains(
                $"The host cannot read {file}: permission denied. Fix: give the account the host runs as", printed);
            Assert.DoesNotContain("   at ", printed);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_functions_file_the_account_may_not_read_stops_the_executable_with_one_clear_line()
    {
        var folder = Directory.CreateTempSubdirectory("sse-unreadable-");
        File.SetUnixFileMode(folder.FullName, (UnixFileMode)0b111_101_101);
        var file = Path.Combine(folder.FullName, "FuncDefs.json");
        await File.WriteAllTextAsync(file, """{ "Functions": [] }""");
        File.SetUnixFileMode(file, UnixFileMode.None);
        try
        {
            var (exitCode, printed) = await HostProcess.RunUnprivilegedToExitAsync(
                "--port", "0", "--functions", file);

            Assert.Equal(2, exitCode);
            Assert.Contains(
                $"The host cannot read {file}: permission denied. Fix: Give the account the host runs as", printed);
            Assert.DoesNotContain("   at ", printed);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
