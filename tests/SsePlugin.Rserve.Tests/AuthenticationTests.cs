namespace SsePlugin.Rserve.Tests;

/// <summary>Logging in to an Rserve that requires it.</summary>
public sealed class AuthenticationTests(AuthenticatedRserveFixture rserve) : IClassFixture<AuthenticatedRserveFixture>
{
    [Fact]
    public async Task RightPassword_LogsIn()
    {
        await using var r = await rserve.ConnectAsync("user", "pass");

        RAssert.Elements<string?>(await r.EvalAsync("'ok'"), "ok");
    }

    [Fact]
    public async Task WrongPassword_IsRefused()
    {
        var error = await Assert.ThrowsAsync<RserveException>(() => rserve.ConnectAsync("user", "wrong"));

        Assert.Equal(0x41, error.Status);
        Assert.Contains("wrong user name or password", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoUser_IsAClearError()
    {
        var error = await Assert.ThrowsAsync<RserveException>(() => rserve.ConnectAsync(null, null));

        Assert.Contains("requires a login, but no user name is configured", error.Message, StringComparison.Ordinal);
    }
}

/// <summary>An Rserve with a password file holding <c>user pass</c>.</summary>
public sealed class AuthenticatedRserveFixture : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("sseplugin-rserve-auth-").FullName;
    private RserveProcess? _server;

    public async Task InitializeAsync()
    {
        var passwords = Path.Combine(_folder, "passwords");
        await File.WriteAllTextAsync(passwords, "user pass\n");
        _server = await RserveProcess.StartAsync(
            new RserveProcessOptions { Port = RserveProcess.FreeLoopbackPort(), PasswordFile = passwords });
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        Directory.Delete(_folder, recursive: true);
    }

    public Task<RserveConnection> ConnectAsync(string? user, string? password) =>
        RserveConnection.ConnectAsync(
            new RserveConnectionOptions { Port = _server!.Port, User = user, Password = password });
}
