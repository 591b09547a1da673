module github.com/covetgo/covet/bench

go 1.26.0

replace github.com/covetgo/covet => ..
