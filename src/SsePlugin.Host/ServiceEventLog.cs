using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.Versioning;
using System.Security;
using Microsoft.Extensions.Hosting.WindowsServices;
using Serilog.Core;
using Serilog.Events;

namespace SsePlugin.Host;

/// <summary>
/// Where a Windows service's start-up errors go as well as to standard error, which a service has no console for:
/// the Application event log, source <c>SsePlugin</c> (deploy/windows/sseplugin-service.ps1 registers it).
/// </summary>
internal sealed class ServiceEventLog : ILogEventSink
{
    /// <summary>The event source the host writes as.</summary>
    public const string Source = "SsePlugin";

    /// <summary>Gets whether the host runs as a Windows service.</summary>
    public static bool IsWindowsService { get; } =
        OperatingSystem.IsWindows() && WindowsServiceHelpers.IsWindowsService();

    /// <summary>Writes a start-up error, with its exception if any.</summary>
    public void Emit(LogEvent logEvent) => Report($"{logEvent.RenderMessage()}\n{logEvent.Exception}".TrimEnd());

    /// <summary>Writes an error as one entry when the host runs as a Windows service; elsewhere does nothing.</summary>
    /// <param name="error">The error, as standard error shows it.</param>
    public static void Report(string error)
    {
        if (OperatingSystem.IsWindows() && IsWindowsService)
        {
            WriteEntry(error);
        }
    }

    // Without the source registered, Windows lets only an administrator add it: the error then stays on standard
    // error alone, as before the service was installed by the script.
    [SupportedOSPlatform("windows")]
    private static void WriteEntry(string error)
    {
        try
        {
            EventLog.WriteEntry(Source, error, EventLogEntryType.Error);
        }
        catch (Exception e) when (e is SecurityException or InvalidOperationException or Win32Exception)
        {
        }
    }
}
