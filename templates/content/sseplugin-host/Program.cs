using SsePluginHost;

// An analytic connection: Qlik's engine calls Alias.Margin(Sales, Cost). Its port and address are the SsePlugin
// section of appsettings.json (or --SsePlugin:Port 50052 on the command line).
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddSsePlugin().AddFunctions(typeof(MarginFunctions));

var app = builder.Build();
app.MapSsePlugin();
app.Run();
