package main

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// The demo store's product pictures are drawn here rather than shipped as
// photographs: the repository stays small, and every product still gets a
// distinct, recognisable pair of pictures (its packaging, and its leaves or
// glaze) in its kind's colours.

const artSize = 800

// palettes colour each product type: background top, bottom, packaging,
// and the leaves or glaze.
var palettes = map[string][4]color.RGBA{
	"Green":     {{233, 241, 223, 255}, {200, 221, 186, 255}, {74, 124, 89, 255}, {112, 160, 72, 255}},
	"Matcha":    {{236, 244, 222, 255}, {190, 220, 160, 255}, {52, 96, 54, 255}, {120, 176, 64, 255}},
	"Roasted":   {{245, 234, 220, 255}, {222, 196, 168, 255}, {122, 74, 46, 255}, {150, 96, 56, 255}},
	"Oolong":    {{250, 238, 214, 255}, {232, 206, 160, 255}, {156, 96, 38, 255}, {110, 120, 52, 255}},
	"Black":     {{244, 228, 222, 255}, {214, 178, 168, 255}, {96, 34, 38, 255}, {70, 40, 30, 255}},
	"White":     {{250, 248, 240, 255}, {232, 228, 212, 255}, {168, 154, 122, 255}, {200, 200, 184, 255}},
	"Herbal":    {{246, 234, 244, 255}, {222, 196, 224, 255}, {122, 70, 128, 255}, {236, 206, 90, 255}},
	"Teaware":   {{230, 236, 242, 255}, {196, 210, 224, 255}, {62, 86, 112, 255}, {150, 170, 190, 255}},
	"Accessory": {{238, 236, 230, 255}, {212, 206, 194, 255}, {96, 88, 74, 255}, {176, 150, 110, 255}},
	"Gift":      {{246, 230, 230, 255}, {226, 196, 196, 255}, {150, 44, 56, 255}, {214, 170, 72, 255}},
}

var (
	boldFace, regularFace func(size float64) font.Face
)

func init() {
	face := func(ttf []byte) func(float64) font.Face {
		f, err := opentype.Parse(ttf)
		if err != nil {
			panic(err) // the fonts are compiled in; a parse failure is a build defect
		}
		return func(size float64) font.Face {
			fc, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
			if err != nil {
				panic(err)
			}
			return fc
		}
	}
	boldFace, regularFace = face(gobold.TTF), face(goregular.TTF)
}

// productArt draws a product's two pictures as JPEG: its packaging with a
// label, and a close view of what is inside.
func productArt(title, vendor, kind, handle string) ([2][]byte, error) {
	pal, ok := palettes[kind]
	if !ok {
		pal = palettes["Accessory"]
	}
	h := fnv.New64a()
	h.Write([]byte(handle))
	rng := rand.New(rand.NewPCG(h.Sum64(), 7))

	var out [2][]byte
	for i := range out {
		img := image.NewRGBA(image.Rect(0, 0, artSize, artSize))
		gradient(img, pal[0], pal[1])
		if i == 0 {
			if kind == "Teaware" {
				cup(img, pal[2], pal[3])
			} else {
				tin(img, pal[2], title, vendor)
			}
		} else {
			leaves(img, rng, pal[3], kind == "Teaware" || kind == "Accessory" || kind == "Gift")
			caption(img, title)
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 82}); err != nil {
			return out, fmt.Errorf("encode picture: %w", err)
		}
		out[i] = buf.Bytes()
	}
	return out, nil
}

func gradient(img *image.RGBA, top, bottom color.RGBA) {
	for y := range artSize {
		t := float64(y) / artSize
		c := color.RGBA{mix(top.R, bottom.R, t), mix(top.G, bottom.G, t), mix(top.B, bottom.B, t), 255}
		draw.Draw(img, image.Rect(0, y, artSize, y+1), image.NewUniform(c), image.Point{}, draw.Src)
	}
}

func mix(a, b uint8, t float64) uint8 { return uint8(float64(a)*(1-t) + float64(b)*t) }

func shade(c color.RGBA, f float64) color.RGBA {
	ch := func(v uint8) uint8 { return uint8(min(255, float64(v)*f)) }
	return color.RGBA{ch(c.R), ch(c.G), ch(c.B), 255}
}

// pen records a path and its bounds, so that only those are rasterised
// (a whole-picture pass per shape is a hundred times slower).
type pen struct {
	ops [][]float32 // each op: its kind (0 move, 1 line, 2 quad, 3 cube, 4 close), then points
	box image.Rectangle
}

func (p *pen) add(kind float32, pts ...float32) {
	for i := 0; i+1 < len(pts); i += 2 {
		p.box = p.box.Union(image.Rect(int(pts[i])-1, int(pts[i+1])-1, int(pts[i])+2, int(pts[i+1])+2))
	}
	p.ops = append(p.ops, append([]float32{kind}, pts...))
}

func (p *pen) MoveTo(x, y float32)                 { p.add(0, x, y) }
func (p *pen) LineTo(x, y float32)                 { p.add(1, x, y) }
func (p *pen) QuadTo(x1, y1, x, y float32)         { p.add(2, x1, y1, x, y) }
func (p *pen) CubeTo(x1, y1, x2, y2, x, y float32) { p.add(3, x1, y1, x2, y2, x, y) }
func (p *pen) ClosePath()                          { p.add(4) }

// fill paints the path that build adds, anti-aliased.
func fill(img *image.RGBA, c color.Color, build func(r *pen)) {
	p := &pen{}
	build(p)
	box := p.box.Intersect(img.Bounds())
	if box.Empty() {
		return
	}
	r := vector.NewRasterizer(box.Dx(), box.Dy())
	dx, dy := float32(box.Min.X), float32(box.Min.Y)
	for _, op := range p.ops {
		pt := op[1:]
		for i := range pt {
			if i%2 == 0 {
				pt[i] -= dx
			} else {
				pt[i] -= dy
			}
		}
		switch op[0] {
		case 0:
			r.MoveTo(pt[0], pt[1])
		case 1:
			r.LineTo(pt[0], pt[1])
		case 2:
			r.QuadTo(pt[0], pt[1], pt[2], pt[3])
		case 3:
			r.CubeTo(pt[0], pt[1], pt[2], pt[3], pt[4], pt[5])
		case 4:
			r.ClosePath()
		}
	}
	r.Draw(img, box, image.NewUniform(c), image.Point{})
}

func roundRect(r *pen, x0, y0, x1, y1, rad float32) {
	r.MoveTo(x0+rad, y0)
	r.LineTo(x1-rad, y0)
	r.QuadTo(x1, y0, x1, y0+rad)
	r.LineTo(x1, y1-rad)
	r.QuadTo(x1, y1, x1-rad, y1)
	r.LineTo(x0+rad, y1)
	r.QuadTo(x0, y1, x0, y1-rad)
	r.LineTo(x0, y0+rad)
	r.QuadTo(x0, y0, x0+rad, y0)
	r.ClosePath()
}

// ellipse adds an ellipse turned by angle radians, as a fine polygon.
func ellipse(r *pen, cx, cy, rx, ry, angle float64) {
	const n = 72
	sin, cos := math.Sincos(angle)
	for i := 0; i <= n; i++ {
		a := 2 * math.Pi * float64(i) / n
		x, y := rx*math.Cos(a), ry*math.Sin(a)
		px, py := float32(cx+x*cos-y*sin), float32(cy+x*sin+y*cos)
		if i == 0 {
			r.MoveTo(px, py)
		} else {
			r.LineTo(px, py)
		}
	}
	r.ClosePath()
}

// tin draws a tea tin with a paper label bearing the title and vendor.
func tin(img *image.RGBA, body color.RGBA, title, vendor string) {
	fill(img, color.RGBA{0, 0, 0, 40}, func(r *pen) { ellipse(r, 400, 672, 190, 26, 0) })
	fill(img, body, func(r *pen) { roundRect(r, 230, 230, 570, 670, 28) })
	fill(img, shade(body, 0.75), func(r *pen) { roundRect(r, 218, 196, 582, 268, 18) })
	fill(img, color.NRGBA{255, 255, 255, 46}, func(r *pen) { roundRect(r, 250, 280, 276, 650, 12) })
	fill(img, color.RGBA{251, 247, 236, 255}, func(r *pen) { roundRect(r, 262, 350, 538, 580, 10) })
	fill(img, shade(body, 0.9), func(r *pen) { roundRect(r, 262, 350, 538, 362, 0) })

	lines := wrap(title, boldFace(34), 250)
	y := 465 - 20*len(lines)
	for _, l := range lines {
		text(img, l, boldFace(34), shade(body, 0.8), y)
		y += 42
	}
	text(img, strings.ToUpper(vendor), regularFace(18), color.RGBA{90, 84, 72, 255}, y+18)
}

// cup draws a cup on its saucer.
func cup(img *image.RGBA, glaze, inside color.RGBA) {
	fill(img, shade(glaze, 0.85), func(r *pen) { ellipse(r, 400, 590, 250, 70, 0) })
	fill(img, color.RGBA{250, 250, 248, 255}, func(r *pen) { ellipse(r, 400, 580, 230, 58, 0) })
	fill(img, glaze, func(r *pen) {
		r.MoveTo(230, 330)
		r.LineTo(570, 330)
		r.CubeTo(570, 520, 520, 600, 400, 600)
		r.CubeTo(280, 600, 230, 520, 230, 330)
		r.ClosePath()
	})
	fill(img, glaze, func(r *pen) { ellipse(r, 590, 420, 62, 70, 0) })
	gradientHole(img, 590, 420, 36, 44)
	fill(img, shade(glaze, 1.15), func(r *pen) { ellipse(r, 400, 330, 170, 40, 0) })
	fill(img, inside, func(r *pen) { ellipse(r, 400, 334, 150, 30, 0) })
}

// gradientHole repaints the inside of the handle with the background
// colour found just outside it.
func gradientHole(img *image.RGBA, cx, cy, rx, ry float64) {
	bg := img.RGBAAt(artSize-10, int(cy))
	fill(img, bg, func(r *pen) { ellipse(r, cx+4, cy, rx, ry, 0) })
}

// leaves scatters leaves over the picture, or for wares, round pebbles
// of glaze.
func leaves(img *image.RGBA, rng *rand.Rand, leaf color.RGBA, round bool) {
	for range 70 {
		cx, cy := rng.Float64()*artSize, rng.Float64()*artSize
		l := 40 + rng.Float64()*70
		a := rng.Float64() * math.Pi
		if round {
			c := shade(leaf, 0.8+rng.Float64()*0.3)
			fill(img, color.RGBA{0, 0, 0, 30}, func(r *pen) { ellipse(r, cx+5, cy+7, l*0.6, l*0.6, 0) })
			fill(img, c, func(r *pen) { ellipse(r, cx, cy, l*0.6, l*0.6, 0) })
			fill(img, color.NRGBA{255, 255, 255, 70}, func(r *pen) { ellipse(r, cx-l*0.2, cy-l*0.2, l*0.18, l*0.12, a) })
			continue
		}
		c := leaf
		if rng.IntN(3) == 0 {
			c = shade(leaf, 0.8)
		}
		fill(img, color.RGBA{0, 0, 0, 30}, func(r *pen) { ellipse(r, cx+6, cy+8, l, l*0.38, a) })
		fill(img, c, func(r *pen) { ellipse(r, cx, cy, l, l*0.38, a) })
		fill(img, shade(c, 0.7), func(r *pen) { ellipse(r, cx, cy, l*0.9, 1.6, a) })
	}
}

// caption writes the title on a band at the bottom.
func caption(img *image.RGBA, title string) {
	fill(img, color.NRGBA{255, 255, 255, 210}, func(r *pen) { roundRect(r, 60, 660, 740, 740, 14) })
	text(img, title, boldFace(32), color.RGBA{40, 40, 40, 255}, 712)
}

// text draws s centred on the picture with its baseline at y.
func text(img *image.RGBA, s string, face font.Face, c color.Color, y int) {
	d := &font.Drawer{Dst: img, Src: image.NewUniform(c), Face: face}
	w := d.MeasureString(s)
	d.Dot = fixed.Point26_6{X: fixed.I(artSize/2) - w/2, Y: fixed.I(y)}
	d.DrawString(s)
}

// wrap breaks s into lines at most width pixels wide in face.
func wrap(s string, face font.Face, width int) []string {
	var lines []string
	cur := ""
	for _, w := range strings.Fields(s) {
		next := strings.TrimSpace(cur + " " + w)
		if cur != "" && font.MeasureString(face, next) > fixed.I(width) {
			lines = append(lines, cur)
			cur = w
			continue
		}
		cur = next
	}
	return append(lines, cur)
}
