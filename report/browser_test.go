package report

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/scanwatch/scanwatch/capture"
	"github.com/scanwatch/scanwatch/eve"
	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/sensor"
)

var screenshotOut = flag.String("screenshot", "", "also write the screenshot of the replay's report here (the README's docs/report.png)")

// replayCaptures are committed captures of real scanners: each is replayed
// on its own, as a sensor would have seen it, into one EVE stream.
var replayCaptures = []string{
	"nmap_sS", "nmap_sn", "masscan_sweep", "nmap_sT", "nmap_sU", "nmap_sF", "nmap_sA", "zmap_sweep",
	"hping3_syn", "nmap_distributed", "nmap_sS6", "arp_sweep", "nmap_O", "nmap_decoy",
}

// replayEVE runs the sensor over each capture and returns the EVE records.
func replayEVE(t *testing.T) []byte {
	t.Helper()
	var out bytes.Buffer
	w := eve.NewWriter(&out, eve.Options{Host: "sensor-1"})
	for _, name := range replayCaptures {
		src, err := capture.OpenFiles(filepath.Join("..", "testdata", name+".pcap"))
		if err != nil {
			t.Fatal(err)
		}
		s := sensor.New(sensor.Options{Rules: rules.Default(), Sink: sensor.EVE{W: w}})
		if err := s.Replay(context.Background(), src); err != nil {
			t.Fatalf("replay %s: %v", name, err)
		}
		src.Close()
	}
	return out.Bytes()
}

// chromiumPath finds Debian's chromium; the test is skipped, saying why,
// only when it is not installed (make test installs it).
func chromiumPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is not installed (Debian package chromium; `make deps` installs it): the report is not rendered in a browser")
	return ""
}

// browser starts a headless chromium that reaches nothing: no network
// features, an empty profile.
func browser(t *testing.T) context.Context {
	path := chromiumPath(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1400, 2000),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("disable-extensions", true),
		chromedp.Flag("force-color-profile", "srgb"), chromedp.Flag("hide-scrollbars", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	return ctx
}

// pageEvents collects what must never happen on the page: script errors
// and dialogs (a hostile string that became script would open one).
type pageEvents struct {
	mu     sync.Mutex
	errors []string
}

func (p *pageEvents) add(s string) {
	p.mu.Lock()
	p.errors = append(p.errors, s)
	p.mu.Unlock()
}

func (p *pageEvents) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.errors
	p.errors = nil
	return e
}

// load opens a page (file://), waits for it to load and its script to run,
// and returns its visible text.
// A dialog that a hostile string opened blocks the page: the error says so.
func load(t *testing.T, ctx context.Context, path string, events *pageEvents) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.Navigate("file://"+path), chromedp.WaitReady("#scanrows tr")); err != nil {
		t.Fatalf("load %s: %v (the page raised: %q)", path, err, events.take())
	}
	took := time.Since(start)
	text, err := chromedp.Run(tctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	return text, took
}

// TestReportInBrowser: the page made from a real replay of committed
// captures, rendered by chromium, shows every scanner, technique, tool and
// open port of the replay; its screenshot is a picture, not a blank page;
// the scan table pages and filters; hostile strings stay text; a day of
// 5,000 scans loads in a few seconds.
func TestReportInBrowser(t *testing.T) {
	ctx := browser(t)
	var events pageEvents
	if err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *cdppage.EventJavascriptDialogOpening:
			events.add("dialog: " + e.Message)
		case *runtime.EventExceptionThrown:
			events.add("exception: " + e.ExceptionDetails.Text)
		}
	}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	dir := t.TempDir()

	data := replayEVE(t)
	rep := New()
	if err := rep.Read("replay.json", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	htmlPath := filepath.Join(dir, "report.html")
	writePage(t, rep, htmlPath)
	text, took := load(t, ctx, htmlPath, &events)
	t.Logf("replay: %d scans, page loaded in %v", len(rep.Scans()), took)

	// What the page must show: taken from the records, not from the report.
	want := map[string]bool{}
	for line := range bytes.SplitSeq(bytes.TrimSpace(data), []byte("\n")) {
		var r eve.Record
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatal(err)
		}
		if s := r.Scan(); s != nil && r.EventType == eve.EventFlow {
			want[s.Scanner] = true
			want[s.Type] = true
			want[s.Tool] = true
			for _, p := range s.OpenPorts {
				want[fmt.Sprintf("%d/%s", p, protoOf(s.Type))] = true
			}
		}
	}
	if len(want) < 10 {
		t.Fatalf("the replay gave too little to check: %v", want)
	}
	for w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("the rendered page does not show %q", w)
		}
	}
	for _, w := range []string{"Timeline", "Top scanners", "Top targets", "Tools named", "Open ports learned",
		fmt.Sprintf("scans 1–%d of %d", len(rep.Scans()), len(rep.Scans()))} {
		if !strings.Contains(text, w) {
			t.Errorf("the rendered page lacks %q", w)
		}
	}
	bars, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#timeline rect.bar").length`))
	if err != nil || bars == 0 {
		t.Errorf("%d bars in the timeline (%v)", bars, err)
	}

	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	checkPicture(t, shot)
	os.WriteFile(filepath.Join(dir, "report.png"), shot, 0o644)
	if *screenshotOut != "" {
		if err := os.WriteFile(*screenshotOut, smallPNG(t, shot), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The table filters by what is typed.
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`(() => { const f = document.getElementById("filter");
		f.value = "fd77::2"; f.dispatchEvent(new Event("input")); return document.querySelectorAll("#scanrows tr").length })()`))
	if err != nil || n != 1 {
		t.Errorf("filtering the table by fd77::2 leaves %d rows (%v), want 1", n, err)
	}
	if e := events.take(); len(e) > 0 {
		t.Errorf("the page raised: %q", e)
	}

	t.Run("hostile", func(t *testing.T) {
		const evil = `<img src=x onerror=alert(1)><script>alert(2)</script>`
		rec := alertLine("flow", 1, "10.9.9.9", evil, t0, t1)
		rec = strings.Replace(rec, `"tool":"nmap"`, `"tool":"<svg onload=alert(3)>"`, 1)
		rep := New()
		if err := rep.Read("evil.json", strings.NewReader(rec+"\n")); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "evil.html")
		writePage(t, rep, path)
		text, _ := load(t, ctx, path, &events)
		if !strings.Contains(text, evil) || !strings.Contains(text, "<svg onload=alert(3)>") {
			t.Errorf("the hostile strings are not shown as text:\n%s", text)
		}
		injected, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("img, script:not(:last-of-type), svg[onload], iframe").length + document.scripts.length - 1`))
		if err != nil || injected != 0 {
			t.Errorf("%d injected elements (%v)", injected, err)
		}
		if e := events.take(); len(e) > 0 {
			t.Errorf("the hostile page ran script: %q", e)
		}
	})

	t.Run("5000 scans", func(t *testing.T) {
		rep := New()
		if err := rep.Read("day.json", bytes.NewReader(genEVE(t, 5000))); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "day.html")
		writePage(t, rep, path)
		text, took := load(t, ctx, path, &events)
		fi, _ := os.Stat(path)
		t.Logf("5000 scans: %d bytes, loaded and rendered in %v", fi.Size(), took)
		if took > 10*time.Second {
			t.Errorf("the page took %v to load", took)
		}
		if !strings.Contains(text, "scans 1–50 of 5000") {
			t.Error("the scan table does not page 5000 scans by 50")
		}
		if e := events.take(); len(e) > 0 {
			t.Errorf("the page raised: %q", e)
		}
	})
}

func writePage(t *testing.T, rep *Report, path string) {
	t.Helper()
	var b bytes.Buffer
	if err := rep.WriteHTML(&b, ""); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkPicture fails for a blank or near-blank screenshot: the page must
// have drawn text, bars and tables, so many pixels differ from the
// background and the grey levels vary.
func checkPicture(t *testing.T, shot []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	b := img.Bounds()
	if b.Dx() < 1000 || b.Dy() < 1000 {
		t.Errorf("screenshot is %v", b)
	}
	bg := gray(img, b.Max.X-1, b.Max.Y-1)
	var n, differ int
	var sum, sum2 float64
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			g := gray(img, x, y)
			sum += g
			sum2 += g * g
			n++
			if d := g - bg; d > 8 || d < -8 {
				differ++
			}
		}
	}
	mean := sum / float64(n)
	variance := sum2/float64(n) - mean*mean
	t.Logf("screenshot %v: grey variance %.0f, %.1f%% of pixels differ from the background", b, variance, 100*float64(differ)/float64(n))
	if variance < 200 || differ < n/10 {
		t.Errorf("the screenshot looks blank: variance %.0f, %d of %d pixels differ from the background", variance, differ, n)
	}
}

func gray(img image.Image, x, y int) float64 {
	r, g, b, _ := img.At(x, y).RGBA()
	return (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(b)) / 257
}

// smallPNG re-encodes a screenshot with the 256 colours it uses most (a
// page of flat colours and antialiased text loses nothing visible), a
// third of chromium's size, for the README.
func smallPNG(t *testing.T, shot []byte) []byte {
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	counts := map[color.RGBA]int{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			counts[color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), 255}]++
		}
	}
	colors := make([]color.RGBA, 0, len(counts))
	for c := range counts {
		colors = append(colors, c)
	}
	sort.Slice(colors, func(i, j int) bool { return counts[colors[i]] > counts[colors[j]] })
	var pal color.Palette
	for _, c := range colors[:min(len(colors), 256)] {
		pal = append(pal, c)
	}
	out := image.NewPaletted(b, pal)
	draw.Draw(out, b, img, b.Min, draw.Src)
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, out); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
