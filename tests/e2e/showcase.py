"""The README's page screenshot: v2 with the guide (the page's default method), N = 50, 20 steps, seed 1, on the page's
default backend, from the committed weights, with the classifier's meter. Run after scripts/build-page.sh:
    python3 tests/e2e/showcase.py   (writes docs/page.png)"""
import os

from selenium.webdriver.common.by import By

from test_page import ROOT, browser, generate, serve, wait


def main():
    httpd, url = serve()
    d = browser()
    try:
        d.get(url)
        wait(lambda: d.execute_script("return document.body.dataset.ready === '1'"), "the page to load its weights")
        generate(d, "unconditional/v2", n=50, steps=20, seed=1)
        wait(lambda: d.find_element(By.ID, "stat-time").text.endswith(" s"), "the figures")
        wait(lambda: d.find_elements(By.ID, "stat-accuracy"), "the classifier's meter")
        d.save_screenshot(os.path.join(ROOT, "docs", "page.png"))
        print("docs/page.png:", d.find_element(By.ID, "stats").text)
    finally:
        d.quit()
        httpd.shutdown()


if __name__ == "__main__":
    main()
