package main

import (
	"html/template"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/mail"
)

// The development inbox: with MAIL_URL=file:<folder> in development, every
// email the platform sends is an .eml file there, and the dashboard host
// lists them at /dev/mail, so a developer can follow a reset link or read an
// order confirmation without a mail server.

// devMailDir is the folder mail goes to, or "" when the inbox is off.
func (d *deps) devMailDir() string {
	dir, ok := strings.CutPrefix(d.cfg.MailURL, "file:")
	if !ok || d.cfg.Env != "development" {
		return ""
	}
	return strings.TrimPrefix(dir, "//")
}

func devMailRoutes(r gin.IRouter, dir string) {
	r.GET("/dev/mail", func(c *gin.Context) {
		msgs, err := mail.List(dir)
		if err != nil {
			c.String(http.StatusInternalServerError, "cannot read the mail folder: %v", err)
			return
		}
		c.Header("Content-Type", "text/html; charset=utf-8")
		inboxPage.Execute(c.Writer, map[string]any{"Dir": dir, "Messages": msgs})
	})
	r.GET("/dev/mail/:name", func(c *gin.Context) {
		m, err := mail.Read(dir, c.Param("name"))
		if err != nil {
			c.String(http.StatusNotFound, "no such message")
			return
		}
		c.Header("Content-Type", "text/html; charset=utf-8")
		// The message's HTML is shown in a sandboxed frame: it runs no script
		// and cannot reach the dashboard.
		messagePage.Execute(c.Writer, m)
	})
}

const devMailStyle = `<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #ddd}
iframe{width:100%;height:32rem;border:1px solid #ccc}pre{white-space:pre-wrap;background:#f6f6f6;padding:1rem}</style>`

var inboxPage = template.Must(template.New("inbox").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>Development inbox</title>` + devMailStyle + `</head><body><main>
<h1>Development inbox</h1><p>Email the platform sent, as files in <code>{{.Dir}}</code>, newest first.</p>
{{if .Messages}}<table><thead><tr><th scope="col">When</th><th scope="col">From</th><th scope="col">To</th><th scope="col">Subject</th></tr></thead><tbody>
{{range .Messages}}<tr><td>{{.Time.Format "2006-01-02 15:04:05"}}</td><td>{{.From}}</td><td>{{range .To}}{{.}} {{end}}</td>
<td><a href="/dev/mail/{{.Name}}">{{.Subject}}</a></td></tr>{{end}}</tbody></table>
{{else}}<p>No mail yet.</p>{{end}}</main></body></html>`))

var messagePage = template.Must(template.New("message").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>{{.Subject}}</title>` + devMailStyle + `</head><body><main>
<p><a href="/dev/mail">← Inbox</a></p><h1>{{.Subject}}</h1>
<p>From {{.From}} to {{range .To}}{{.}} {{end}}· {{.Time.Format "2006-01-02 15:04:05"}}</p>
{{if .HTML}}<iframe sandbox title="The message as HTML" srcdoc="{{.HTML}}"></iframe>{{end}}
{{if .Text}}<h2>Text</h2><pre>{{.Text}}</pre>{{end}}</main></body></html>`))
