using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Connections;
using Serilog;
using Serilog.Events;
using SsePlugin.Host;
using SsePlugin.Host.Commands;
using SsePlugin.Host.Security;
using SsePlugin.Rserve;
using SsePlugin.Server.Discovery;

switch (args)
{
    case ["certs", .. var rest]:
        return await CertsCommand.RunAsync(rest, Console.Out);
    case ["doctor", .. var rest]:
        return await DoctorCommand.RunAsync(rest, Console.Out);
    case ["--help" or "-h" or "-?" or "/?" or "help"]:
        Console.WriteLine(SsePluginHost.Usage);
        return 0;
    case ["--version"]:
        Console.WriteLine(SsePluginHost.Version);
        return 0;
}

// Errors go to standard error, so that a service manager or a script can tell them from the call log.
Log.Logger = new LoggerConfiguration().WriteTo.Console(standardErrorFromLevel: LogEventLevel.Error).CreateBootstrapLogger();
try
{
    // Every declaration and connection is checked before a port opens; a mistake stops the host here.
    var app = SsePluginHost.Build(args);
    SsePluginHost.Announce(app);
    await app.RunAsync();
    return 0;
}
catch (InvalidDataException e) when (e.InnerException is FormatException { InnerException: JsonException cause })
{
    // A configuration file that is not valid JSON; the reader's message gives the line (counted from 0).
    Log.Fatal("{Problem} {Cause}", e.Message, cause.Message);
    return 2;
}
catch (Exception e) when (e is SseConfigurationException or CertificateFolderException or Microsoft.Extensions.Options.OptionsValidationException)
{
    Log.Fatal("{Problems}", e.Message);
    return 2;
}
catch (InvalidOperationException e) when (e.TargetSite?.DeclaringType == typeof(ConfigurationBinder))
{
    // The binder names the setting and the value it could not convert; the administrator needs no stack trace.
    Log.Fatal("{Problem} Write a number where a number is expected and true or false for switches.", e.Message);
    return 2;
}
catch (IOException e) when (e.InnerException is AddressInUseException)
{
    Log.Fatal("{Problem} Another program, perhaps another SsePlugin, listens there: stop it, or give this host another port (--port).", e.Message);
    return 2;
}
catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressNotAvailable)
{
    Log.Fatal("The host cannot listen there: {Problem}. Fix: bind to an address of this machine (--bind), e.g. 127.0.0.1, or 0.0.0.0 for all.", e.Message);
    return 2;
}
catch (RserveException e)
{
    Log.Fatal("{Problem}", e.Message);
    return 2;
}
catch (InvalidOperationException e) when (e.Source == "Serilog.Settings.Configuration")
{
    Log.Fatal("The Serilog settings are wrong: {Problem}", e.Message);
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
