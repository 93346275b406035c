namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Configures the SSE server that <see cref="SsePluginServiceCollectionExtensions.AddSsePlugin"/> added.
/// </summary>
public interface ISsePluginBuilder
{
    /// <summary>Gets the application's services.</summary>
    IServiceCollection Services { get; }
}
