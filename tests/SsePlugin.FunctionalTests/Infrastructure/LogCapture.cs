using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;
using Serilog.Events;

namespace SsePlugin.FunctionalTests.Infrastructure;

/// <summary>Keeps what the host logs; the host's Serilog picks up every <see cref="ILogEventSink"/> service.</summary>
public sealed class LogCapture : ILogEventSink
{
    private readonly ConcurrentQueue<LogEvent> _events = new();

    public IReadOnlyList<LogEvent> Events => [.. _events];

    public IReadOnlyList<string> Messages =>
        [.. _events.Select(e => e.RenderMessage(System.Globalization.CultureInfo.InvariantCulture))];

    public void AddTo(ISsePluginBuilder sse) => sse.Services.AddSingleton<ILogEventSink>(this);

    public void Emit(LogEvent logEvent) => _events.Enqueue(logEvent);

    /// <summary>
    /// The message containing all the parts; the host logs a call just after answering it, so it is awaited a little.
    /// </summary>
    public async Task<string> WaitForAsync(params string[] parts)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (waited.Elapsed < SseCalls.CallTimeout)
        {
            if (Messages.FirstOrDefault(m => parts.All(p => m.Contains(p, StringComparison.Ordinal))) is { } message)
            {
                return message;
            }

            await Task.Delay(20);
        }

        throw new Xunit.Sdk.XunitException(
            $"No log message holds {string.Join(" and ", parts)}; the host logged:\n{string.Join("\n", Messages)}");
    }
}
