using SsePlugin.Host.Commands;

return await new HostCommandLine().InvokeAsync(args, Console.Out, Console.Error);
