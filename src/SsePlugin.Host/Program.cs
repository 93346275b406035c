using Serilog;
using SsePlugin.Host;
using SsePlugin.Host.Commands;
using SsePlugin.Host.Security;
using SsePlugin.Server.Discovery;

switch (args)
{
    case ["certs", .. var rest]:
        return await CertsCommand.RunAsync(rest, Console.Out);
    case ["doctor", .. var rest]:
        return await DoctorCommand.RunAsync(rest, Console.Out);
}

Log.Logger = new LoggerConfiguration().WriteTo.Console().CreateBootstrapLogger();
try
{
    // Every declaration and connection is checked before a port opens; a mistake stops the host here.
    var app = SsePluginHost.Build(args);
    SsePluginHost.Announce(app);
    await app.RunAsync();
    return 0;
}
catch (Exception e) when (e is SseConfigurationException or CertificateFolderException or Microsoft.Extensions.Options.OptionsValidationException)
{
    Log.Fatal("{Problems}", e.Message);
    return 2;
}
catch (Exception e) when (e is not HostAbortedException)
{
    Log.Fatal(e, "The host could not run: {Message}", e.Message);
    return 1;
}
finally
{
    await Log.CloseAndFlushAsync();
}
