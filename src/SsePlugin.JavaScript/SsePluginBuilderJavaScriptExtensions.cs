using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using SsePlugin.JavaScript;
using SsePlugin.Server.Scripting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the JavaScript engine to an SSE server.</summary>
public static class SsePluginBuilderJavaScriptExtensions
{
    /// <summary>
    /// Runs scripts in JavaScript (Jint, inside the host): Qlik's script functions on connections whose
    /// <c>ScriptEngine</c> is <c>javascript</c> (the default), and functions-file scripts. Its limits are bound from
    /// the <c>SsePlugin:JavaScript</c> configuration section.
    /// </summary>
    /// <param name="builder">The SSE server's builder.</param>
    /// <param name="configure">Changes the limits after configuration is bound, if given.</param>
    /// <returns>The same builder, for chaining.</returns>
    public static ISsePluginBuilder AddJavaScript(
        this ISsePluginBuilder builder, Action<JavaScriptOptions>? configure = null)
    {
        var options = builder.Services.AddOptions<JavaScriptOptions>()
            .BindConfiguration(JavaScriptOptions.Section, binder => binder.ErrorOnUnknownConfiguration = true)
            .ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddEnumerable(
            ServiceDescriptor.Singleton<IValidateOptions<JavaScriptOptions>, JavaScriptOptionsValidator>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IScriptEngine, JintScriptEngine>());
        return builder.AddFunctionsFiles();
    }
}
