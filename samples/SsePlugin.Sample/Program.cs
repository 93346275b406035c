using SsePlugin.Sample;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddSsePlugin().AddFunctions<TemperatureFunctions>();

var app = builder.Build();
app.MapSsePlugin();
app.Run();
