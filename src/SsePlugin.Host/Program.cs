using SsePlugin.Host.Commands;

return await new HostCommandLine().InvokeAsync(args, Console.Out, Console.Error);

// Internal like the rest of the executable; ASP.NET Core otherwise makes the class of top-level statements public.
internal sealed partial class Program;
