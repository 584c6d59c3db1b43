using FlowDiffusion.Editor;

var app = EditorHost.Create(args);
app.Run();
