namespace SsePlugin.EndToEndTests;

/// <summary>deploy/systemd/sseplugin.service, as the linux-x64 download ships it.</summary>
[Collection(PublishedDownloads.Name)]
public sealed class PublishSystemdTests(PublishFixture published)
{
    private string Unit => Path.Combine(published.Linux, "deploy", "systemd", "sseplugin.service");

    [Fact]
    public async Task TheUnit_PassesSystemdAnalyzeVerify_WithoutAWord_ForTheUnpackedDownload()
    {
        // The unit as installed, but for the download unpacked where the test put it instead of /opt/sseplugin:
        // verify checks that ExecStart's program is there and executable.
        var folder = Directory.CreateTempSubdirectory("sseplugin-unit-").FullName;
        try
        {
            var unit = Path.Combine(folder, "sseplugin.service");
            var text = await File.ReadAllTextAsync(Unit);
            await File.WriteAllTextAsync(
                unit, text.Replace("/opt/sseplugin", published.Linux, StringComparison.Ordinal));

            var (exitCode, output) = await PublishFixture.RunAsync(
                "systemd-analyze", ["verify", unit], TimeSpan.FromMinutes(1));

            Assert.Equal((0, ""), (exitCode, output));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task TheUnit_IsANotifyService_OfItsOwnUser_Hardened_ThatLetsTheHostStopRserve()
    {
        var lines = await File.ReadAllLinesAsync(Unit);

        Assert.Subset(
            lines.ToHashSet(),
            new HashSet<string>
            {
                "Type=notify", "ExecStart=/opt/sseplugin/SsePlugin.Host", "User=sseplugin", "ProtectSystem=strict",
                "ProtectHome=yes", "PrivateTmp=yes", "NoNewPrivileges=yes", "CapabilityBoundingSet=",
                "KillMode=mixed", "Restart=on-failure", "RestartPreventExitStatus=2", "TimeoutStopSec=60",
            });
        Assert.DoesNotContain(lines, line => line.StartsWith("ReadWritePaths=", StringComparison.Ordinal));
    }
}
